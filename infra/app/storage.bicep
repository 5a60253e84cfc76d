// Host and sync-state storage. Shared-key access is off: the host, the queue triggers and the
// Table adapters all authenticate with the managed identity (AzureWebJobsStorage__* settings).

@description('Storage account name (3-24 lower-case letters and digits).')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the account.')
param tags object

@description('Blob container that holds the deployed zip package (Flex Consumption deployment storage).')
param deploymentContainerName string

// Listed literally, poison queues included, so test/unit/infra/consistency.test.ts can compare
// them with shared/names.ts `Queues` and `poisonQueue()`. The host would create a poison queue on
// first use, but the poison watcher and the alerts expect them from day one.
var queueNames = [
  'sync-runs'
  'sync-runs-poison'
  'dataverse-writes'
  'dataverse-writes-poison'
  'app-writes'
  'app-writes-poison'
  'record-events'
  'record-events-poison'
]

// shared/names.ts `Tables`.
var tableNames = [
  'SyncCursors'
  'SyncLinks'
  'SyncRuns'
  'SyncHealth'
  'SyncDeadLetters'
  'SyncConflicts'
  'SyncThrottle'
  'SyncPayloads'
  'SyncExpiry'
  'SyncFinopsMessages'
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    // Flex Consumption without VNet integration reaches storage over the public endpoint; data
    // access still requires an Entra token because shared keys are disabled.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queueName in queueNames: {
    parent: queueService
    name: queueName
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for tableName in tableNames: {
    parent: tableService
    name: tableName
  }
]

output id string = storage.id
output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
output deploymentContainerName string = deploymentContainer.name
