// d365-sync on Azure Functions Flex Consumption. Deploy into an existing resource group:
//   az deployment group create -g <rg> -f infra/main.bicep -p infra/main.parameters.json -p <secrets>
// One module per concern under app/. docs/deployment.md is the step-by-step guide.
targetScope = 'resourceGroup'

// ---------- general ----------

@description('Azure region for every resource. Default: the resource group location.')
param location string = resourceGroup().location

@description('Short base name (letters, digits, hyphens) used to derive every resource name. Default: d365sync.')
@minLength(3)
@maxLength(13)
param baseName string = 'd365sync'

@description('Tags applied to every resource. Default: {}.')
param tags object = {}

// ---------- Dataverse connection (non-secret) ----------

@description('DYNAMICS_INSTANCE_URL: the Dataverse environment URL, e.g. https://contoso.crm4.dynamics.com. Required.')
param dynamicsInstanceUrl string

@description('DYNAMICS_TENANT_ID: Entra tenant id of the app registration. Required.')
param dynamicsTenantId string

@description('DYNAMICS_CLIENT_ID: application (client) id of the app registration. Required.')
param dynamicsClientId string

@description('DYNAMICS_CREDENTIAL: how the app gets Dataverse tokens; empty lets the app infer it (client secret when one is set). Default: empty.')
@allowed([
  ''
  'client-secret'
  'certificate'
  'managed-identity'
  'workload-identity'
])
param dynamicsCredential string = ''

@description('DYNAMICS_AUTHORITY_HOST: Entra authority for sovereign clouds; empty means https://login.microsoftonline.com. Default: empty.')
param dynamicsAuthorityHost string = ''

@description('DYNAMICS_CLIENT_CERTIFICATE_PATH: PEM certificate path when a certificate replaces the secret. Default: empty.')
param dynamicsClientCertificatePath string = ''

// ---------- the app connector and sync ----------

@description('SYNC_CONFIG_PATH: mapping file inside the deployed package. Default: sync.config.json.')
param syncConfigPath string = 'sync.config.json'

@description('APP_BASE_URL: base URL of the application\'s App Sync API (may include a path prefix). Required.')
param appBaseUrl string

@description('NOTIFY_WEBHOOK_URL: URL notified about sync failures; empty disables it. Default: empty.')
param notifyWebhookUrl string = ''

@description('FINOPS_BASE_URL: the Finance & Operations environment (https://<env>.operations.dynamics.com) for the mapping file\'s finops jobs. Default: empty (no F&O jobs).')
param finopsBaseUrl string = ''

@description('DYNAMICS_CREDENTIAL_EXPIRES_ON: when the Dataverse credential expires (ISO 8601), where neither a certificate nor the Key Vault secret tells; empty leaves it out. Default: empty.')
param dynamicsCredentialExpiresOn string = ''

// ---------- hosting ----------

@description('Node.js version of the Flex Consumption runtime. Default: 22.')
@allowed([
  '20'
  '22'
])
param nodeVersion string = '22'

@description('Maximum instances per Flex scale group (40-1000); also caps write concurrency towards Dataverse. Default: 100.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory per instance in MB. Default: 2048.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Always-ready instances for the HTTP functions (webhooks answer without a cold start; billed while idle). Default: 0.')
@minValue(0)
param httpAlwaysReady int = 0

@description('Days Log Analytics keeps telemetry. Default: 30.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

@description('Key Vault purge protection (cannot be turned off again). Default: true.')
param enablePurgeProtection bool = true

// ---------- alerts ----------

@description('E-mail address that receives alerts; empty adds no e-mail receiver. Default: empty.')
param alertEmail string = ''

@description('Webhook URL (Teams, Slack, PagerDuty...) that receives alerts; empty adds no webhook receiver. Default: empty.')
param alertWebhookUrl string = ''

@description('Whether the alert rules are enabled. Default: true.')
param alertsEnabled bool = true

@description('The mapping file\'s options.stalenessHours: the pending-records alert fires for a record pending longer. Default: 26.')
@minValue(1)
param stalenessHours int = 26

@description('The mapping file\'s options.credentialExpiryWarningDays: the credential alert fires this many days before expiry. Default: 30.')
@minValue(1)
param credentialExpiryWarningDays int = 30

// ---------- secrets: pass on the command line, never in a parameter file ----------

@secure()
@description('DYNAMICS_CLIENT_SECRET, stored as Key Vault secret DYNAMICS-CLIENT-SECRET. Required, no default.')
param dynamicsClientSecret string

@secure()
@description('DATAVERSE_WEBHOOK_KEY (WebhookKey ?code= value), Key Vault secret DATAVERSE-WEBHOOK-KEY. Required, no default.')
param dataverseWebhookKey string

@secure()
@description('DATAVERSE_WEBHOOK_HMAC_SECRET, Key Vault secret DATAVERSE-WEBHOOK-HMAC-SECRET. Required, no default.')
param dataverseWebhookHmacSecret string

@secure()
@description('APP_API_KEY (bearer key for the App Sync API), Key Vault secret APP-API-KEY. Required, no default.')
param appApiKey string

@secure()
@description('APP_WEBHOOK_SECRET (HMAC of the app change notices), Key Vault secret APP-WEBHOOK-SECRET. Required, no default.')
param appWebhookSecret string

@secure()
@description('ADMIN_API_KEY (manual sync and admin routes), Key Vault secret ADMIN-API-KEY. Required, no default.')
param adminApiKey string

@secure()
@description('DATAVERSE_WEBHOOK_HEADER ("Name: value", HttpHeader auth), Key Vault secret DATAVERSE-WEBHOOK-HEADER. Required, no default: pass an empty string when unused.')
param dataverseWebhookHeader string

// ---------- names ----------

var suffix = uniqueString(subscription().id, resourceGroup().id, baseName)
var shortSuffix = take(suffix, 8)
var compactBase = take(toLower(replace(baseName, '-', '')), 9)
// Function app names of at most 32 characters keep the host id unique (max here: 27).
var appName = 'func-${baseName}-${shortSuffix}'
var names = {
  identity: 'id-${baseName}-${shortSuffix}'
  plan: 'plan-${baseName}-${shortSuffix}'
  storage: 'st${compactBase}${suffix}'
  keyVault: 'kv${compactBase}${suffix}'
  logAnalytics: 'log-${baseName}-${shortSuffix}'
  appInsights: 'appi-${baseName}-${shortSuffix}'
  deploymentContainer: 'app-package-${shortSuffix}'
}
var allTags = union(tags, { application: 'd365-sync' })

module identity 'app/identity.bicep' = {
  name: 'identity'
  params: {
    name: names.identity
    location: location
    tags: allTags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  params: {
    name: names.storage
    location: location
    tags: allTags
    deploymentContainerName: names.deploymentContainer
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: names.logAnalytics
    appInsightsName: names.appInsights
    location: location
    tags: allTags
    retentionInDays: logRetentionInDays
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: names.keyVault
    location: location
    tags: allTags
    enablePurgeProtection: enablePurgeProtection
    dynamicsClientSecret: dynamicsClientSecret
    dataverseWebhookKey: dataverseWebhookKey
    dataverseWebhookHmacSecret: dataverseWebhookHmacSecret
    appApiKey: appApiKey
    appWebhookSecret: appWebhookSecret
    adminApiKey: adminApiKey
    dataverseWebhookHeader: dataverseWebhookHeader
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
    keyVaultName: keyVault.outputs.name
  }
}

module functionApp 'app/function.bicep' = {
  name: 'function'
  // Role assignments first: the host needs storage and Key Vault access on its first start.
  dependsOn: [
    rbac
  ]
  params: {
    planName: names.plan
    appName: appName
    location: location
    tags: allTags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    appInsightsConnectionString: monitoring.outputs.connectionString
    keyVaultUri: keyVault.outputs.vaultUri
    hasWebhookHeader: !empty(dataverseWebhookHeader)
    nodeVersion: nodeVersion
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    httpAlwaysReady: httpAlwaysReady
    dynamicsInstanceUrl: dynamicsInstanceUrl
    dynamicsTenantId: dynamicsTenantId
    dynamicsClientId: dynamicsClientId
    dynamicsCredential: dynamicsCredential
    dynamicsAuthorityHost: dynamicsAuthorityHost
    dynamicsClientCertificatePath: dynamicsClientCertificatePath
    syncConfigPath: syncConfigPath
    appBaseUrl: appBaseUrl
    notifyWebhookUrl: notifyWebhookUrl
    finopsBaseUrl: finopsBaseUrl
    dynamicsCredentialExpiresOn: dynamicsCredentialExpiresOn
  }
}

module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  params: {
    location: location
    tags: allTags
    namePrefix: appName
    appInsightsId: monitoring.outputs.appInsightsId
    actionGroupShortName: 'd365sync'
    alertEmail: alertEmail
    alertWebhookUrl: alertWebhookUrl
    alertsEnabled: alertsEnabled
    stalenessHours: stalenessHours
    credentialExpiryWarningDays: credentialExpiryWarningDays
  }
}

// Names and ids only: no output carries a secret or a key.
output functionAppName string = functionApp.outputs.name
output functionAppHostName string = functionApp.outputs.defaultHostName
output storageAccountName string = storage.outputs.name
output deploymentContainerName string = storage.outputs.deploymentContainerName
output keyVaultName string = keyVault.outputs.name
output appInsightsName string = monitoring.outputs.appInsightsName
output identityClientId string = identity.outputs.clientId
output identityPrincipalId string = identity.outputs.principalId
