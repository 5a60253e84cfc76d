export { MemoryBudgetStore, emptyBudgetRow, type BudgetRow, type Grant, type BudgetSnapshot, type BudgetStore } from "./budgetStore.js";
export { TableBudgetStore, type TableBudgetStoreOptions } from "./tableBudgetStore.js";
export { ThrottleBudget, budgetKey, type BudgetReservation, type BudgetStats, type ThrottleBudgetOptions } from "./throttleBudget.js";
export { createDataverseBudget, createLocalDataverseBudget, DataverseRequestLimit } from "./dataverseBudget.js";
export { CostEstimator, type RequestCost, type RequestKind } from "./costEstimator.js";
