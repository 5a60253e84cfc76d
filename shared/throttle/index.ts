export { MemoryBudgetStore, emptyBudgetRow, type BudgetRow, type BudgetSnapshot, type BudgetStore } from "./budgetStore.js";
export { TableBudgetStore, type TableBudgetStoreOptions } from "./tableBudgetStore.js";
export { ThrottleBudget, budgetKey, type BudgetStats, type ThrottleBudgetOptions } from "./throttleBudget.js";
export { createDataverseBudget, createLocalDataverseBudget, DataverseRequestLimit } from "./dataverseBudget.js";
