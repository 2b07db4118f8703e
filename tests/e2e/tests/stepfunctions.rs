//! Step Functions on the local cloud with the real SDK: a state machine's Lambda
//! tasks go through localcloud like any SDK invoke. An alias's weights split the
//! workflow's invocations (and `lambda:invoke` results name the version that ran),
//! the per-version metrics count them as Lambda does for alias and version-qualified
//! invokes, the caller's account is kept, a function error fails the task with the
//! Error and Cause ministack gave it before, and an errors alarm fires from workflow
//! traffic alone.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{ensure, Context, Result};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, DimensionFilter, Statistic};
use aws_sdk_lambda::types::AliasRoutingConfiguration;
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use e2e::{account_config, config_with, DEV, TEST};
use localcloud::testing::LocalCloud;
use serde_json::{json, Value};

const DOUBLE: &str = env!("CARGO_BIN_EXE_fixture-double");
const SQUARE: &str = env!("CARGO_BIN_EXE_fixture-square");
const FAIL: &str = env!("CARGO_BIN_EXE_fixture-fail");

const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";

fn function_arn(account: &str, name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:{account}:function:{name}")
}

/// A state machine in the client's account named `name`, from `states` and `start`.
async fn state_machine(
    sfn: &aws_sdk_sfn::Client,
    account: &str,
    name: &str,
    start: &str,
    states: Value,
) -> Result<String> {
    let definition = json!({"StartAt": start, "States": states});
    let created = sfn
        .create_state_machine()
        .name(name)
        .definition(definition.to_string())
        .role_arn(format!("arn:aws:iam::{account}:role/workflow"))
        .send()
        .await
        .with_context(|| format!("CreateStateMachine {name}"))?;
    Ok(created.state_machine_arn().to_owned())
}

/// Starts one execution per input, all at once, and waits until every one has ended.
async fn run_all(sfn: &aws_sdk_sfn::Client, machine: &str, inputs: &[Value]) -> Result<Vec<DescribeExecutionOutput>> {
    let mut started = Vec::new();
    for input in inputs {
        let out = sfn.start_execution().state_machine_arn(machine).input(input.to_string()).send().await?;
        started.push(out.execution_arn().to_owned());
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut ended = Vec::new();
    for arn in started {
        loop {
            let described = sfn.describe_execution().execution_arn(&arn).send().await?;
            if described.status() != &ExecutionStatus::Running {
                ended.push(described);
                break;
            }
            ensure!(Instant::now() < deadline, "{arn} still running after 120 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(ended)
}

fn output(execution: &DescribeExecutionOutput) -> Result<Value> {
    ensure!(
        execution.status() == &ExecutionStatus::Succeeded,
        "execution {:?}: {:?} {:?}",
        execution.status(),
        execution.error(),
        execution.cause()
    );
    Ok(serde_json::from_str(execution.output().context("a succeeded execution has an output")?)?)
}

/// The fixture's code name: version 1 of `calc` doubles, version 2 squares.
fn code(result: &Value) -> &str {
    result["code"].as_str().unwrap_or_default()
}

fn dim(name: &str, value: &str) -> Dimension {
    Dimension::builder().name(name).value(value).build()
}

async fn sum_of(cw: &aws_sdk_cloudwatch::Client, metric: &str, dims: &[Dimension]) -> Result<f64> {
    let out = cw
        .get_metric_statistics()
        .namespace("AWS/Lambda")
        .metric_name(metric)
        .set_dimensions(Some(dims.to_vec()))
        .start_time(DateTime::from(SystemTime::now() - Duration::from_secs(900)))
        .end_time(DateTime::from(SystemTime::now() + Duration::from_secs(5)))
        .period(60)
        .statistics(Statistic::Sum)
        .send()
        .await?;
    Ok(out.datapoints().iter().filter_map(|d| d.sum()).sum())
}

/// The dimension sets `function`'s Invocations metrics carry, each as sorted `Name=Value`.
async fn dimension_sets(cw: &aws_sdk_cloudwatch::Client, function: &str) -> Result<Vec<Vec<String>>> {
    let listed = cw
        .list_metrics()
        .namespace("AWS/Lambda")
        .metric_name("Invocations")
        .dimensions(DimensionFilter::builder().name("FunctionName").value(function).build())
        .send()
        .await?;
    let mut sets: Vec<Vec<String>> = listed
        .metrics()
        .iter()
        .map(|m| {
            let mut set: Vec<String> = m
                .dimensions()
                .iter()
                .map(|d| format!("{}={}", d.name().unwrap_or_default(), d.value().unwrap_or_default()))
                .collect();
            set.sort();
            set
        })
        .collect();
    sets.sort();
    Ok(sets)
}

async fn split_alias(lambda: &aws_sdk_lambda::Client, function: &str, weight_of_2: f64) -> Result<()> {
    let weights = HashMap::from([("2".to_owned(), weight_of_2)]);
    lambda
        .update_alias()
        .function_name(function)
        .name("live")
        .function_version("1")
        .routing_config(AliasRoutingConfiguration::builder().set_additional_version_weights(Some(weights)).build())
        .send()
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alias_weights_split_workflow_invocations_and_the_metrics_count_them() -> Result<()> {
    let cloud = LocalCloud::start("sfn-weights")?;
    let config = account_config(&cloud.endpoint(), DEV).await;
    let (lambda, sfn) = (aws_sdk_lambda::Client::new(&config), aws_sdk_sfn::Client::new(&config));
    let cw = aws_sdk_cloudwatch::Client::new(&config);
    e2e::lambda::two_versions(&lambda, "calc", DOUBLE, SQUARE).await?;
    split_alias(&lambda, "calc", 0.5).await?;

    // Both Task forms, each through the alias: a Lambda ARN as Resource, and the
    // lambda:invoke integration with FunctionName `name:alias`.
    let machine = state_machine(
        &sfn,
        DEV,
        "through-the-alias",
        "ByArn",
        json!({
            "ByArn": {"Type": "Task", "Resource": function_arn(DEV, "calc:live"), "ResultPath": "$.by_arn", "Next": "ByInvoke"},
            "ByInvoke": {"Type": "Task", "Resource": LAMBDA_INVOKE,
                "Parameters": {"FunctionName": "calc:live", "Payload": {"n.$": "$.n"}},
                "ResultPath": "$.by_invoke", "End": true}
        }),
    )
    .await?;
    let executions = run_all(&sfn, &machine, &vec![json!({"n": 3}); 30]).await?;

    let mut ran: HashMap<&str, f64> = HashMap::new();
    for execution in &executions {
        let out = output(execution)?;
        let by_arn = code(&out["by_arn"]).to_owned();
        let version = out["by_invoke"]["ExecutedVersion"].as_str().context("lambda:invoke names the version")?;
        let by_invoke = code(&out["by_invoke"]["Payload"]);
        let expected = if version == "1" { "double" } else { "square" };
        ensure!(by_invoke == expected, "ExecutedVersion {version} ran the code of {by_invoke}: {out}");
        ensure!(out["by_invoke"]["StatusCode"] == 200, "{out}");
        for ran_code in [by_arn.as_str(), by_invoke] {
            let version = match ran_code {
                "double" => "1",
                "square" => "2",
                other => anyhow::bail!("unexpected code {other}: {out}"),
            };
            *ran.entry(version).or_default() += 1.0;
        }
    }
    let (v1, v2) = (ran.get("1").copied().unwrap_or_default(), ran.get("2").copied().unwrap_or_default());
    // 60 draws at 50 %: each side expects 30 (standard deviation 3.9); below 15 is a
    // four-sigma event, far likelier a routing that ignores the weights.
    ensure!(v1 >= 15.0 && v2 >= 15.0, "60 invocations split near 50/50: version 1 ran {v1}, version 2 {v2}");

    // The execution history shows the version each lambda:invoke task ran.
    let first = &executions[0];
    let history = sfn.get_execution_history().execution_arn(first.execution_arn()).send().await?;
    let succeeded: Vec<Value> = history
        .events()
        .iter()
        .filter(|e| e.r#type() == &HistoryEventType::TaskSucceeded)
        .filter_map(|e| e.task_succeeded_event_details()?.output())
        .filter_map(|o| serde_json::from_str(o).ok())
        .collect();
    let from_output = output(first)?["by_invoke"]["ExecutedVersion"].clone();
    ensure!(
        succeeded.iter().any(|o| o.get("ExecutedVersion") == Some(&from_output)),
        "TaskSucceeded events name ExecutedVersion {from_output}: {succeeded:?}"
    );

    // Per-version metrics, as Lambda publishes them for an alias.
    let live = [dim("FunctionName", "calc"), dim("Resource", "calc:live")];
    let version = |v: &str| [dim("FunctionName", "calc"), dim("Resource", "calc:live"), dim("ExecutedVersion", v)];
    assert_eq!(sum_of(&cw, "Invocations", &version("1")).await?, v1);
    assert_eq!(sum_of(&cw, "Invocations", &version("2")).await?, v2);
    assert_eq!(sum_of(&cw, "Invocations", &live).await?, 60.0);
    assert_eq!(sum_of(&cw, "Invocations", &[dim("FunctionName", "calc")]).await?, 60.0);
    assert_eq!(sum_of(&cw, "Errors", &[dim("FunctionName", "calc")]).await?, 0.0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_qualified_and_run_time_names_run_in_the_callers_account() -> Result<()> {
    let cloud = LocalCloud::start("sfn-versions")?;
    let dev = account_config(&cloud.endpoint(), DEV).await;
    let (lambda, sfn) = (aws_sdk_lambda::Client::new(&dev), aws_sdk_sfn::Client::new(&dev));
    let cw = aws_sdk_cloudwatch::Client::new(&dev);
    // Version 1 doubles; version 2 and $LATEST square.
    e2e::lambda::two_versions(&lambda, "calc", DOUBLE, SQUARE).await?;

    let states = json!({
        "Pinned": {"Type": "Task", "Resource": LAMBDA_INVOKE,
            "Parameters": {"FunctionName": "calc:1", "Payload": {"n.$": "$.n"}},
            "ResultPath": "$.pinned", "Next": "Built"},
        "Built": {"Type": "Task", "Resource": LAMBDA_INVOKE,
            "Parameters": {"FunctionName.$": "States.Format('{}:{}', $.arn, $.v)", "Payload": {"n.$": "$.n"}},
            "ResultPath": "$.built", "Next": "Unqualified"},
        "Unqualified": {"Type": "Task", "Resource": LAMBDA_INVOKE,
            "Parameters": {"FunctionName": "calc", "Payload": {"n.$": "$.n"}},
            "ResultPath": "$.unqualified", "End": true}
    });
    let machine = state_machine(&sfn, DEV, "versions", "Pinned", states.clone()).await?;
    let input = json!({"n": 3, "arn": function_arn(DEV, "calc"), "v": "2"});
    for execution in run_all(&sfn, &machine, &vec![input; 3]).await? {
        let out = output(&execution)?;
        for (task, version, ran, result) in
            [("pinned", "1", "double", 6), ("built", "2", "square", 9), ("unqualified", "$LATEST", "square", 9)]
        {
            ensure!(out[task]["ExecutedVersion"] == version, "{task} ran version {version}: {out}");
            ensure!(code(&out[task]["Payload"]) == ran && out[task]["Payload"]["result"] == result, "{task}: {out}");
        }
    }
    // A version is a Resource with no ExecutedVersion (that dimension is an alias's);
    // an unqualified invoke counts under the function alone.
    assert_eq!(
        dimension_sets(&cw, "calc").await?,
        [
            vec!["FunctionName=calc"],
            vec!["FunctionName=calc", "Resource=calc:1"],
            vec!["FunctionName=calc", "Resource=calc:2"],
        ]
    );
    assert_eq!(sum_of(&cw, "Invocations", &[dim("FunctionName", "calc"), dim("Resource", "calc:1")]).await?, 3.0);
    assert_eq!(sum_of(&cw, "Invocations", &[dim("FunctionName", "calc"), dim("Resource", "calc:2")]).await?, 3.0);
    assert_eq!(sum_of(&cw, "Invocations", &[dim("FunctionName", "calc")]).await?, 9.0);

    // The same workflow in the test account, started with assumed-role keys (which
    // ministack maps to the role's account): it runs test's own `calc`, where every
    // version doubles, and its metrics stay in test.
    let sts = aws_sdk_sts::Client::new(&dev);
    let assumed = sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::{TEST}:role/operator"))
        .role_session_name("sfn-e2e")
        .send()
        .await?;
    let creds = assumed.credentials().context("AssumeRole returned credentials")?;
    let in_test = config_with(
        &cloud.endpoint(),
        aws_credential_types::Credentials::new(
            creds.access_key_id(),
            creds.secret_access_key(),
            Some(creds.session_token().to_owned()),
            None,
            "assumed",
        ),
    )
    .await;
    let test_lambda = aws_sdk_lambda::Client::new(&in_test);
    e2e::lambda::two_versions(&test_lambda, "calc", DOUBLE, DOUBLE).await?;
    let test_sfn = aws_sdk_sfn::Client::new(&in_test);
    let machine = state_machine(&test_sfn, TEST, "versions", "Pinned", states).await?;
    let input = json!({"n": 3, "arn": function_arn(TEST, "calc"), "v": "2"});
    let out = output(&run_all(&test_sfn, &machine, &[input]).await?[0])?;
    for task in ["pinned", "built", "unqualified"] {
        ensure!(code(&out[task]["Payload"]) == "double", "{task} ran test's calc: {out}");
    }
    let test_cw = aws_sdk_cloudwatch::Client::new(&account_config(&cloud.endpoint(), TEST).await);
    assert_eq!(sum_of(&test_cw, "Invocations", &[dim("FunctionName", "calc")]).await?, 3.0);
    assert_eq!(sum_of(&cw, "Invocations", &[dim("FunctionName", "calc")]).await?, 9.0, "dev's count unchanged");
    Ok(())
}

/// What ministack's in-process call made of the fixture's error, before localcloud's
/// launcher: Error is the runtime's errorType, Cause the error payload as Python's
/// json.dumps writes it (measured on plain ministack 1.5.33).
const FIXTURE_FAIL_ERROR: &str = "&alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>";
const FIXTURE_FAIL_CAUSE: &str = r#"{"errorType": "&alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>", "errorMessage": "this version is broken on purpose"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_version_fails_its_tasks_as_before_and_its_errors_alarm_fires() -> Result<()> {
    // One CloudWatch minute is one real second.
    let cloud = LocalCloud::start_scaled("sfn-errors", 60.0)?;
    let config = account_config(&cloud.endpoint(), DEV).await;
    let (lambda, sfn) = (aws_sdk_lambda::Client::new(&config), aws_sdk_sfn::Client::new(&config));
    let cw = aws_sdk_cloudwatch::Client::new(&config);
    e2e::lambda::two_versions(&lambda, "calc", DOUBLE, FAIL).await?;

    let v2 = [dim("FunctionName", "calc"), dim("Resource", "calc:live"), dim("ExecutedVersion", "2")];
    cw.put_metric_alarm()
        .alarm_name("calc-v2-errors")
        .namespace("AWS/Lambda")
        .metric_name("Errors")
        .set_dimensions(Some(v2.to_vec()))
        .statistic(Statistic::Sum)
        // Ten real seconds: the errors stay in the evaluated period while the test
        // waits for every execution to end.
        .period(600)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
        .treat_missing_data("notBreaching")
        .send()
        .await?;
    let alarm_state = || async {
        let out = cw.describe_alarms().alarm_names("calc-v2-errors").send().await?;
        let state = out.metric_alarms().first().and_then(|a| a.state_value()).map(|s| s.as_str().to_owned());
        anyhow::Ok(state.unwrap_or_default())
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while alarm_state().await? != "OK" {
        ensure!(Instant::now() < deadline, "the alarm starts OK");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The failing version, pinned, in both Task forms: the task fails with the Error
    // and Cause ministack gave it when it called Lambda in process.
    let pinned = state_machine(
        &sfn,
        DEV,
        "pinned-to-the-bad-version",
        "ByArn",
        json!({
            "ByArn": {"Type": "Task", "Resource": function_arn(DEV, "calc:2"),
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.caught", "Next": "ByInvoke"}],
                "Next": "ByInvoke"},
            "ByInvoke": {"Type": "Task", "Resource": LAMBDA_INVOKE,
                "Parameters": {"FunctionName": "calc:2", "Payload": {"n.$": "$.n"}}, "End": true}
        }),
    )
    .await?;
    let failed = &run_all(&sfn, &pinned, &[json!({"n": 3})]).await?[0];
    assert_eq!(failed.status(), &ExecutionStatus::Failed);
    assert_eq!(failed.error(), Some(FIXTURE_FAIL_ERROR), "lambda:invoke's Error");
    assert_eq!(failed.cause(), Some(FIXTURE_FAIL_CAUSE), "lambda:invoke's Cause");
    let history = sfn.get_execution_history().execution_arn(failed.execution_arn()).send().await?;
    let caught = history
        .events()
        .iter()
        .filter_map(|e| e.state_entered_event_details())
        .filter(|d| d.name() == "ByInvoke")
        .find_map(|d| d.input())
        .context("ByInvoke was entered after the Catch")?;
    let caught: Value = serde_json::from_str(caught)?;
    assert_eq!(caught["caught"], json!({"Error": FIXTURE_FAIL_ERROR, "Cause": FIXTURE_FAIL_CAUSE}), "the ARN form's");
    // Pinned versions carry no ExecutedVersion: the alarm has seen nothing yet.
    assert_eq!(sum_of(&cw, "Errors", &[dim("FunctionName", "calc"), dim("Resource", "calc:2")]).await?, 2.0);
    assert_eq!(alarm_state().await?, "OK");

    // Through the alias at 50 %: the executions that drew version 2 fail, and their
    // errors, counted under the alias's ExecutedVersion 2, put the alarm in ALARM.
    split_alias(&lambda, "calc", 0.5).await?;
    let live = state_machine(
        &sfn,
        DEV,
        "through-the-alias",
        "Calc",
        json!({"Calc": {"Type": "Task", "Resource": function_arn(DEV, "calc:live"), "End": true}}),
    )
    .await?;
    let executions = run_all(&sfn, &live, &vec![json!({"n": 3}); 20]).await?;
    let failures = executions.iter().filter(|e| e.status() == &ExecutionStatus::Failed).count();
    ensure!(failures > 0 && failures < 20, "20 executions at 50 %: {failures} drew the failing version");
    for execution in executions.iter().filter(|e| e.status() == &ExecutionStatus::Failed) {
        assert_eq!((execution.error(), execution.cause()), (Some(FIXTURE_FAIL_ERROR), Some(FIXTURE_FAIL_CAUSE)));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while alarm_state().await? != "ALARM" {
        ensure!(Instant::now() < deadline, "the errors alarm fired from workflow traffic");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sum_of(&cw, "Errors", &v2).await?, failures as f64);
    let v1 = [dim("FunctionName", "calc"), dim("Resource", "calc:live"), dim("ExecutedVersion", "1")];
    assert_eq!(sum_of(&cw, "Errors", &v1).await?, 0.0);
    assert_eq!(sum_of(&cw, "Invocations", &v1).await?, (20 - failures) as f64);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_reach_workflow_tasks_as_step_functions_names_them() -> Result<()> {
    let cloud = LocalCloud::start("sfn-faults")?;
    let config = account_config(&cloud.endpoint(), DEV).await;
    let (lambda, sfn) = (aws_sdk_lambda::Client::new(&config), aws_sdk_sfn::Client::new(&config));
    e2e::lambda::two_versions(&lambda, "calc", DOUBLE, SQUARE).await?;
    // No Retry: the task's error is the fault's, as Step Functions reports a Lambda
    // service error (the ETL workflow retries exactly these names).
    let machine = state_machine(
        &sfn,
        DEV,
        "no-retry",
        "Calc",
        json!({"Calc": {"Type": "Task", "Resource": LAMBDA_INVOKE,
            "Parameters": {"FunctionName": "calc:live", "Payload": {"n.$": "$.n"}}, "End": true}}),
    )
    .await?;
    for (fault, error) in [
        ("throttle", "Lambda.TooManyRequestsException"),
        ("error", "Lambda.ServiceException"),
        ("reset", "Lambda.SdkClientException"),
        ("lost_reply", "Lambda.SdkClientException"),
    ] {
        // Only Lambda's Invoke: Step Functions' own API stays healthy.
        cloud.set_faults(&format!("service=lambda,operation=Invoke,{fault}=1,seed=1"))?;
        let execution = &run_all(&sfn, &machine, &[json!({"n": 3})]).await?[0];
        cloud.set_faults("off")?;
        assert_eq!(execution.status(), &ExecutionStatus::Failed, "{fault}");
        assert_eq!(execution.error(), Some(error), "{fault}: {:?}", execution.cause());
    }
    let report = cloud.fault_report().context("the cloud reports its faults")?;
    assert_eq!(report.total.faults(), 4, "one fault per execution: {report:?}");
    // With injection off, the same workflow runs.
    let execution = &run_all(&sfn, &machine, &[json!({"n": 3})]).await?[0];
    assert_eq!(output(execution)?["Payload"]["result"], 6);
    Ok(())
}
