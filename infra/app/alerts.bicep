// Action group and log search alerts on Application Insights. The queries use the telemetry and
// function names in shared/names.ts (`TelemetryEvents`, `FunctionNames`) and the metric names in
// shared/telemetry/metrics.ts (`Metrics`, in customMetrics): rename them together. Each rule has a
// section in docs/operations.md saying what to do when it fires.
// Run status values are the run-summary contract: succeeded | completed_with_failures | failed.

@description('Azure region of the alert rules.')
param location string

@description('Tags applied to the alert resources.')
param tags object

@description('Prefix for the rule names (the function app name).')
param namePrefix string

@description('Resource id of the Application Insights component the rules query.')
param appInsightsId string

@description('Action group short name (at most 12 characters).')
@maxLength(12)
param actionGroupShortName string

@description('E-mail address notified by the action group; empty adds no e-mail receiver.')
param alertEmail string

@description('Webhook (e.g. Teams, Slack, PagerDuty) called by the action group; empty adds no webhook receiver.')
param alertWebhookUrl string

@description('Whether the rules are enabled.')
param alertsEnabled bool

@description('The mapping file\'s options.stalenessHours: a record pending longer fires the pending alert.')
param stalenessHours int

@description('The mapping file\'s options.credentialExpiryWarningDays: the credential alert fires this many days before expiry.')
param credentialExpiryWarningDays int

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-${namePrefix}'
  location: 'global'
  tags: tags
  properties: {
    enabled: true
    groupShortName: actionGroupShortName
    emailReceivers: empty(alertEmail) ? [] : [
      {
        name: 'operator-email'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
    webhookReceivers: empty(alertWebhookUrl) ? [] : [
      {
        name: 'operator-webhook'
        serviceUri: alertWebhookUrl
        useCommonAlertSchema: true
      }
    ]
  }
}

// A run that reports status failed, or a timer/run-worker execution that crashed before it could.
var runFailedQuery = '''
union
  (customEvents
    | where name == "SyncRunCompleted" and tostring(customDimensions.status) =~ "failed"
    | project Mapping = tostring(customDimensions.mapping)),
  (requests
    | where operation_Name in ("scheduledSync", "scheduledReconcile", "runWorker") and success == false
    | project Mapping = strcat("function:", operation_Name))
| summarize Failed = count() by Mapping
'''

// The last two completed runs of a mapping both failed (the same rule /api/health answers 503 on).
var consecutiveFailuresQuery = '''
customEvents
| where name == "SyncRunCompleted"
| project timestamp, Mapping = tostring(customDimensions.mapping), Status = tostring(customDimensions.status)
| sort by Mapping asc, timestamp desc
| extend Rank = row_number(1, prev(Mapping) != Mapping)
| where Rank <= 2
| summarize Runs = count(), FailedRuns = countif(Status =~ "failed") by Mapping
| where Runs == 2
| project Mapping, Consecutive = iff(FailedRuns == 2, 1, 0)
'''

// Records the engine dead-lettered: it could not map or write them (poison messages have their own rule).
var deadLetteredQuery = '''
customEvents
| where name == "SyncRecordDeadLettered"
| project Source = strcat("dead-letter:", tostring(customDimensions.mapping))
| summarize Records = count() by Source
'''

// Queue messages whose handler crashed five times: the host moved them to a -poison queue.
var poisonQuery = '''
traces
| where message startswith "Message has reached MaxDequeueCount"
| project Queue = extract("queue '([^']+)'", 1, message)
| summarize Messages = count() by Queue
'''

// The last reconciliation found records that differed on a field marked "critical": true.
var criticalMismatchQuery = '''
customMetrics
| where name == "sync.divergence" and tostring(customDimensions.critical) =~ "true"
| summarize arg_max(timestamp, value) by Mapping = tostring(customDimensions.mapping), Field = tostring(customDimensions.field)
| project Field = strcat(Mapping, ".", Field), Records = value
'''

// The latest days-left figure of the Dataverse credential (sent after each run and health check).
var credentialExpiryQuery = '''
customMetrics
| where name == "auth.credential.days_left"
| summarize arg_max(timestamp, value)
| project DaysLeft = value
'''

// Entra refused the credential itself: an expired (AADSTS7000222) or wrong or revoked (AADSTS7000215) secret.
var credentialRejectedQuery = '''
customMetrics
| where name == "auth.token.failures" and tostring(customDimensions.reason) in ("AADSTS7000222", "AADSTS7000215")
| summarize Failures = sum(value) by Reason = tostring(customDimensions.reason)
'''

// The oldest pending record of each mapping and direction, in hours (its latest figure).
var pendingStaleQuery = '''
customMetrics
| where name == "sync.pending.oldest_age"
| summarize arg_max(timestamp, value) by Mapping = tostring(customDimensions.mapping), Direction = tostring(customDimensions.direction)
| project Pending = strcat(Mapping, " ", Direction), OldestHours = value / 3600.0
'''

// Heartbeat: a completed run (with or without record failures) in the last 26 h. Also fires after
// a fresh deployment until the first scheduled run has finished.
var noSuccessQuery = '''
customEvents
| where timestamp > ago(26h)
| where name == "SyncRunCompleted" and tostring(customDimensions.status) in~ ("succeeded", "completed_with_failures")
| summarize Completed = count()
'''

var authFailedQuery = '''
customEvents
| where name == "SyncAuthFailed"
| summarize Failures = count()
'''

var massDeleteQuery = '''
customEvents
| where name == "SyncMassDeleteBlocked"
| project Mapping = tostring(customDimensions.mapping)
| summarize Blocked = count() by Mapping
'''

var rules = [
  {
    name: 'sync-run-failed'
    displayName: 'd365-sync: a sync run failed'
    description: 'A run reported status failed, or the scheduledSync/scheduledReconcile/runWorker function failed. See the run in /api/sync/runs/{runId} and the exceptions table.'
    severity: 1
    query: runFailedQuery
    measure: 'Failed'
    operator: 'GreaterThan'
    threshold: 0
    frequency: 'PT15M'
    window: 'PT15M'
    timeRange: ''
    dimension: 'Mapping'
  }
  {
    name: 'sync-consecutive-failures'
    displayName: 'd365-sync: two consecutive failed runs of a mapping'
    description: 'The last two runs of the mapping failed; /api/health answers 503. Usually credentials, Dataverse availability or a mapping change.'
    severity: 0
    query: consecutiveFailuresQuery
    measure: 'Consecutive'
    operator: 'GreaterThan'
    threshold: 0
    frequency: 'PT1H'
    window: 'PT1H'
    timeRange: 'P2D'
    dimension: 'Mapping'
  }
  {
    name: 'sync-records-dead-lettered'
    displayName: 'd365-sync: records dead-lettered'
    description: 'Records failed permanently or exhausted their retries. Inspect the pending records (GET /api/pending) and retry after fixing the cause.'
    severity: 2
    query: deadLetteredQuery
    measure: 'Records'
    operator: 'GreaterThan'
    threshold: 0
    frequency: 'PT15M'
    window: 'PT15M'
    timeRange: ''
    dimension: 'Source'
  }
  {
    name: 'sync-no-successful-run'
    displayName: 'd365-sync: no completed run in 26 hours'
    description: 'No run completed in the last 26 h: the timer is not firing, runs fail, or telemetry is not arriving.'
    severity: 1
    query: noSuccessQuery
    measure: 'Completed'
    operator: 'LessThan'
    threshold: 1
    frequency: 'PT1H'
    window: 'PT1H'
    timeRange: 'P2D'
    dimension: ''
  }
  {
    name: 'sync-auth-failed'
    displayName: 'd365-sync: authentication failed'
    description: 'A token could not be obtained or Dataverse/the app refused the credentials: expired client secret, removed application user or a rotated API key.'
    severity: 1
    query: authFailedQuery
    measure: 'Failures'
    operator: 'GreaterThan'
    threshold: 0
    frequency: 'PT15M'
    window: 'PT15M'
    timeRange: ''
    dimension: ''
  }
  {
    name: 'sync-mass-delete-blocked'
    displayName: 'd365-sync: mass-delete breaker stopped deletes'
    description: 'A run would have deleted more records than the breaker allows; deletes were not applied. Check the source system before overriding.'
    severity: 2
    query: massDeleteQuery
    measure: 'Blocked'
    operator: 'GreaterThan'
    threshold: 0
    frequency: 'PT15M'
    window: 'PT15M'
    timeRange: ''
    dimension: 'Mapping'
  }
  {
    name: 'sync-poison-messages'
    displayName: 'd365-sync: queue messages moved to a poison queue'
    description: 'A queue handler crashed five times on one message (storage down, a bug); poisonWatcher records it as pending. See docs/operations.md.'
    severity: 2
    query: poisonQuery
    measure: 'Messages'
    operator: 'GreaterThan'
    threshold: 0
    frequency: 'PT15M'
    window: 'PT15M'
    timeRange: ''
    dimension: 'Queue'
  }
  {
    name: 'sync-critical-mismatch'
    displayName: 'd365-sync: the systems differed on a critical field'
    description: 'The last reconciliation found records whose critical field (e.g. certification status) differed between the app and Dataverse. See docs/operations.md.'
    severity: 1
    query: criticalMismatchQuery
    measure: 'Records'
    operator: 'GreaterThan'
    threshold: 0
    frequency: 'PT1H'
    window: 'PT1H'
    timeRange: 'P2D'
    dimension: 'Field'
  }
  {
    name: 'sync-credential-expiring'
    displayName: 'd365-sync: the Dataverse credential expires soon'
    description: 'The client secret or certificate expires within options.credentialExpiryWarningDays days. Renew it before it does. See docs/operations.md.'
    severity: 2
    query: credentialExpiryQuery
    measure: 'DaysLeft'
    operator: 'LessThanOrEqual'
    threshold: credentialExpiryWarningDays
    frequency: 'PT6H'
    window: 'PT6H'
    timeRange: 'P2D'
    dimension: ''
  }
  {
    name: 'sync-credential-rejected'
    displayName: 'd365-sync: Entra refused the Dataverse credential (expired or revoked)'
    description: 'Token requests failed with AADSTS7000222 (secret expired) or AADSTS7000215 (wrong or revoked secret). Every run fails until it is replaced. See docs/operations.md.'
    severity: 0
    query: credentialRejectedQuery
    measure: 'Failures'
    operator: 'GreaterThan'
    threshold: 0
    frequency: 'PT15M'
    window: 'PT15M'
    timeRange: ''
    dimension: 'Reason'
  }
  {
    name: 'sync-pending-stale'
    displayName: 'd365-sync: a record has been pending longer than the staleness limit'
    description: 'The oldest pending record of a mapping is older than options.stalenessHours. See docs/operations.md.'
    severity: 2
    query: pendingStaleQuery
    measure: 'OldestHours'
    operator: 'GreaterThan'
    threshold: stalenessHours
    frequency: 'PT1H'
    window: 'PT1H'
    timeRange: 'P2D'
    dimension: 'Pending'
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [
  for rule in rules: {
    name: '${namePrefix}-${rule.name}'
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      displayName: rule.displayName
      description: rule.description
      severity: rule.severity
      enabled: alertsEnabled
      scopes: [
        appInsightsId
      ]
      evaluationFrequency: rule.frequency
      windowSize: rule.window
      overrideQueryTimeRange: empty(rule.timeRange) ? null : rule.timeRange
      autoMitigate: true
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: 'Total'
            metricMeasureColumn: rule.measure
            operator: rule.operator
            threshold: rule.threshold
            dimensions: empty(rule.dimension) ? [] : [
              {
                name: rule.dimension
                operator: 'Include'
                values: [
                  '*'
                ]
              }
            ]
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      actions: {
        actionGroups: [
          actionGroup.id
        ]
      }
    }
  }
]

output actionGroupId string = actionGroup.id
output alertRuleNames array = [for (rule, i) in rules: alertRules[i].name]
