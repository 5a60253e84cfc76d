export { createDataverseClient, type DataverseClientExtras, type DataverseClientOptions } from "./createDataverseClient.js";
export { createDataverseCredential, createDataverseTokenProvider, isMicrosoftAuthority, type DataverseCredentialSettings, type CredentialKind } from "./createDataverseCredential.js";
export { TokenProvider, type TokenSource } from "./tokenProvider.js";
export { classifyDataverseError, DataverseCodes } from "./classifyDataverseError.js";
export { encodeBatch, decodeBatch, type BatchItem, type BatchRequest, type BatchResponsePart } from "./batch.js";
export { serviceRootOf, type DataverseStats } from "./dataverseTransport.js";
export { keyPath, idPath } from "./odataUrl.js";
