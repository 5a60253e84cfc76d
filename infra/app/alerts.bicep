// Action group and log search alerts on Application Insights. The queries use the telemetry and
// function names in shared/names.ts (`TelemetryEvents`, `FunctionNames`): rename them together.
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

// Records the sync gave up on: the host moved a queue message to a -poison queue, or the engine
// dead-lettered a record it could not map or write.
var deadLetteredQuery = '''
union
  (traces
    | where message startswith "Message has reached MaxDequeueCount"
    | project Source = strcat("poison:", extract("queue '([^']+)'", 1, message))),
  (customEvents
    | where name == "SyncRecordDeadLettered"
    | project Source = strcat("dead-letter:", tostring(customDimensions.mapping)))
| summarize Records = count() by Source
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
    displayName: 'd365-sync: records dead-lettered or moved to a poison queue'
    description: 'Records failed permanently or exhausted their retries. Inspect the SyncDeadLetters table / poison queues and replay after fixing the cause.'
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
