// RBAC-mode Key Vault holding every secret the app reads. The app settings carry only
// @Microsoft.KeyVault(SecretUri=...) references, resolved by the site with the managed identity.
// Secrets arrive as @secure() parameters (never defaulted, never output) so they are kept out of
// deployment history and parameter files.

@description('Key Vault name (3-24 letters, digits and hyphens).')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the vault.')
param tags object

@description('Purge protection: a deleted vault cannot be purged during the retention period. Cannot be turned off once on.')
param enablePurgeProtection bool

@secure()
@description('Client secret of the Entra app registration used for Dataverse (DYNAMICS_CLIENT_SECRET).')
param dynamicsClientSecret string

@secure()
@description('Value Dataverse sends as ?code= (WebhookKey auth) on the webhook (DATAVERSE_WEBHOOK_KEY).')
param dataverseWebhookKey string

@secure()
@description('HMAC secret for signed Dataverse webhook bodies (DATAVERSE_WEBHOOK_HMAC_SECRET).')
param dataverseWebhookHmacSecret string

@secure()
@description('Bearer key for the App Sync API (APP_API_KEY).')
param appApiKey string

@secure()
@description('HMAC secret of the app change notices (APP_WEBHOOK_SECRET).')
param appWebhookSecret string

@secure()
@description('Key for the manual-sync and admin routes (ADMIN_API_KEY).')
param adminApiKey string

@secure()
@description('"Name: value" header for HttpHeader-style webhook auth (DATAVERSE_WEBHOOK_HEADER); empty when not used.')
param dataverseWebhookHeader string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // ARM rejects `false` here; omitting the property leaves purge protection off.
    enablePurgeProtection: enablePurgeProtection ? true : null
    // Flex Consumption cannot resolve Key Vault references through a network-restricted vault.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

// One resource per secret (not a loop over a variable) so each value flows straight from its
// @secure() parameter and the linter can see it stays secure.
resource dynamicsClientSecretEntry 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'DYNAMICS-CLIENT-SECRET'
  properties: {
    value: dynamicsClientSecret
    contentType: 'text/plain'
  }
}

resource dataverseWebhookKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'DATAVERSE-WEBHOOK-KEY'
  properties: {
    value: dataverseWebhookKey
    contentType: 'text/plain'
  }
}

resource dataverseWebhookHmacSecretEntry 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'DATAVERSE-WEBHOOK-HMAC-SECRET'
  properties: {
    value: dataverseWebhookHmacSecret
    contentType: 'text/plain'
  }
}

resource appApiKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'APP-API-KEY'
  properties: {
    value: appApiKey
    contentType: 'text/plain'
  }
}

resource appWebhookSecretEntry 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'APP-WEBHOOK-SECRET'
  properties: {
    value: appWebhookSecret
    contentType: 'text/plain'
  }
}

resource adminApiKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'ADMIN-API-KEY'
  properties: {
    value: adminApiKey
    contentType: 'text/plain'
  }
}

resource webhookHeaderSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(dataverseWebhookHeader)) {
  parent: vault
  name: 'DATAVERSE-WEBHOOK-HEADER'
  properties: {
    value: dataverseWebhookHeader
    contentType: 'text/plain'
  }
}

output id string = vault.id
output name string = vault.name
// Ends with '/'. Outputs only the vault URI: secret values never leave this module.
output vaultUri string = vault.properties.vaultUri
