// Flex Consumption (FC1, Linux) plan and function app. The runtime lives in functionAppConfig;
// the legacy settings Flex rejects (FUNCTIONS_WORKER_RUNTIME, WEBSITE_RUN_FROM_PACKAGE, ...) are
// deliberately absent, and the consistency test fails if one appears.

@description('Flex Consumption plan name.')
param planName string

@description('Function app name (at most 32 characters keeps the host id unique).')
param appName string

@description('Azure region.')
param location string

@description('Tags applied to the plan and the site.')
param tags object

@description('Resource id of the user-assigned managed identity.')
param identityId string

@description('Client id of the user-assigned managed identity.')
param identityClientId string

@description('Blob endpoint of the storage account (ends with /).')
param blobEndpoint string

@description('Queue endpoint of the storage account (ends with /).')
param queueEndpoint string

@description('Table endpoint of the storage account (ends with /).')
param tableEndpoint string

@description('Blob container holding the deployment package.')
param deploymentContainerName string

@description('Application Insights connection string.')
param appInsightsConnectionString string

@description('Key Vault URI (ends with /); secrets are referenced, never copied.')
param keyVaultUri string

@description('Whether the DATAVERSE-WEBHOOK-HEADER secret exists in the vault.')
param hasWebhookHeader bool

@description('Node.js version of the Flex runtime.')
param nodeVersion string

@description('Maximum instances per scale group (40-1000).')
param maximumInstanceCount int

@description('Instance memory in MB (512, 2048 or 4096).')
param instanceMemoryMB int

@description('Always-ready instances for the HTTP group (0 = scale to zero).')
param httpAlwaysReady int

@description('DYNAMICS_INSTANCE_URL.')
param dynamicsInstanceUrl string

@description('DYNAMICS_TENANT_ID.')
param dynamicsTenantId string

@description('DYNAMICS_CLIENT_ID.')
param dynamicsClientId string

@description('DYNAMICS_CREDENTIAL; empty leaves the app default.')
param dynamicsCredential string

@description('DYNAMICS_AUTHORITY_HOST; empty leaves the app default.')
param dynamicsAuthorityHost string

@description('DYNAMICS_CLIENT_CERTIFICATE_PATH; empty when a client secret is used.')
param dynamicsClientCertificatePath string

@description('SYNC_CONFIG_PATH.')
param syncConfigPath string

@description('APP_BASE_URL.')
param appBaseUrl string

@description('DYNAMICS_CREDENTIAL_EXPIRES_ON (ISO 8601); empty leaves the setting out.')
param dynamicsCredentialExpiresOn string

@description('NOTIFY_WEBHOOK_URL; empty disables notifications.')
param notifyWebhookUrl string

@description('FINOPS_BASE_URL: the Finance & Operations environment of the mapping file\'s finops jobs; empty when there are none.')
param finopsBaseUrl string = ''

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        alwaysReady: httpAlwaysReady > 0 ? [
          {
            name: 'http'
            instanceCount: httpAlwaysReady
          }
        ] : []
      }
      runtime: {
        name: 'node'
        version: nodeVersion
      }
    }
  }
}

// Identity-based host storage: no connection string exists because shared keys are disabled.
var hostSettings = {
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: blobEndpoint
  AzureWebJobsStorage__queueServiceUri: queueEndpoint
  AzureWebJobsStorage__tableServiceUri: tableEndpoint
  // Lets DefaultAzureCredential in the worker pick the user-assigned identity.
  AZURE_CLIENT_ID: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // V8 options for a sync's short-lived garbage (shared/runtime/workerNodeOptions.ts), passed to the
  // Node worker process (--optimize-for-size is not allowed in NODE_OPTIONS): about half the resident
  // memory at the same throughput, which fits a 512 MB instance.
  languageWorkers__node__arguments: '--max-semi-space-size=4 --optimize-for-size'
}

var plainSettings = {
  DYNAMICS_INSTANCE_URL: dynamicsInstanceUrl
  DYNAMICS_TENANT_ID: dynamicsTenantId
  DYNAMICS_CLIENT_ID: dynamicsClientId
  SYNC_CONFIG_PATH: syncConfigPath
  APP_BASE_URL: appBaseUrl
}

// Versionless references: a rotated secret is picked up within 24 h, or at once on any config change.
var secretSettings = {
  DYNAMICS_CLIENT_SECRET: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/DYNAMICS-CLIENT-SECRET/)'
  DATAVERSE_WEBHOOK_KEY: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/DATAVERSE-WEBHOOK-KEY/)'
  DATAVERSE_WEBHOOK_HMAC_SECRET: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/DATAVERSE-WEBHOOK-HMAC-SECRET/)'
  APP_API_KEY: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/APP-API-KEY/)'
  APP_WEBHOOK_SECRET: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/APP-WEBHOOK-SECRET/)'
  ADMIN_API_KEY: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/ADMIN-API-KEY/)'
}

// Optional settings are left out when empty so the app applies its own documented defaults
// instead of validating an empty string.
var webhookHeaderSettings = hasWebhookHeader ? {
  DATAVERSE_WEBHOOK_HEADER: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/DATAVERSE-WEBHOOK-HEADER/)'
} : {}
var credentialSettings = empty(dynamicsCredential) ? {} : {
  DYNAMICS_CREDENTIAL: dynamicsCredential
}
var authorityHostSettings = empty(dynamicsAuthorityHost) ? {} : {
  DYNAMICS_AUTHORITY_HOST: dynamicsAuthorityHost
}
var certificateSettings = empty(dynamicsClientCertificatePath) ? {} : {
  DYNAMICS_CLIENT_CERTIFICATE_PATH: dynamicsClientCertificatePath
}
var notifySettings = empty(notifyWebhookUrl) ? {} : {
  NOTIFY_WEBHOOK_URL: notifyWebhookUrl
}
var finopsSettings = empty(finopsBaseUrl) ? {} : {
  FINOPS_BASE_URL: finopsBaseUrl
}
// Where the credential's expiry is read (shared/config/credentialExpiry.ts): the client secret's
// `expires` attribute in Key Vault, read with the app's identity (a secret id, not a reference), and
// the date given by hand as the fallback.
var secretExpirySettings = empty(dynamicsClientCertificatePath) && (empty(dynamicsCredential) || dynamicsCredential == 'client-secret') ? {
  DYNAMICS_CLIENT_SECRET_VAULT_URI: '${keyVaultUri}secrets/DYNAMICS-CLIENT-SECRET'
} : {}
var expiresOnSettings = empty(dynamicsCredentialExpiresOn) ? {} : {
  DYNAMICS_CREDENTIAL_EXPIRES_ON: dynamicsCredentialExpiresOn
}

// A separate config resource so the identity and its role assignments exist before the first
// Key Vault reference is resolved.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: union(hostSettings, plainSettings, secretSettings, webhookHeaderSettings, credentialSettings, authorityHostSettings, certificateSettings, notifySettings, secretExpirySettings, expiresOnSettings, finopsSettings)
}

output name string = site.name
output id string = site.id
output defaultHostName string = site.properties.defaultHostName
