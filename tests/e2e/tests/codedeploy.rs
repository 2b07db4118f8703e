//! CodeDeploy for Lambda on the local cloud, through the real SDK: weight schedules
//! observed with GetAlias, hooks that succeed, fail and never answer, an alarm that
//! stops a canary and rolls it back, AWS's validation errors, weighted routing, and
//! a restart in the middle of a deployment.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use aws_sdk_codedeploy::error::ProvideErrorMetadata;
use aws_sdk_codedeploy::types::{
    Alarm, AlarmConfiguration, AppSpecContent, AutoRollbackConfiguration, AutoRollbackEvent, ComputePlatform,
    DeploymentInfo, DeploymentStatus, RevisionLocation, RevisionLocationType, TimeBasedLinear, TrafficRoutingConfig,
    TrafficRoutingType,
};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::AliasRoutingConfiguration;
use e2e::lambda::create_function;
use e2e::{account_config, DEV};
use localcloud::testing::LocalCloud;
use serde_json::json;

const DOUBLE: &str = env!("CARGO_BIN_EXE_fixture-double");
const SQUARE: &str = env!("CARGO_BIN_EXE_fixture-square");
const HOOK: &str = env!("CARGO_BIN_EXE_fixture-hook");
const ROLE: &str = "arn:aws:iam::111111111111:role/codedeploy";

struct Env {
    cloud: LocalCloud,
    lambda: aws_sdk_lambda::Client,
    cd: aws_sdk_codedeploy::Client,
    cw: aws_sdk_cloudwatch::Client,
}

async fn env(name: &str, scale: f64) -> Result<Env> {
    let cloud = LocalCloud::start_scaled(name, scale)?;
    let config = account_config(&cloud.endpoint(), DEV).await;
    Ok(Env {
        lambda: aws_sdk_lambda::Client::new(&config),
        cd: aws_sdk_codedeploy::Client::new(&config),
        cw: aws_sdk_cloudwatch::Client::new(&config),
        cloud,
    })
}

/// `calc` with version 1 (doubles) and version 2 (squares), alias `live` on 1.
async fn two_versions(lambda: &aws_sdk_lambda::Client) -> Result<()> {
    e2e::lambda::two_versions(lambda, "calc", DOUBLE, SQUARE).await
}

async fn group(e: &Env, config: &str, alarms: &[&str], rollback: &[AutoRollbackEvent]) -> Result<()> {
    if e.cd.get_application().application_name("etl").send().await.is_err() {
        e.cd.create_application().application_name("etl").compute_platform(ComputePlatform::Lambda).send().await?;
    }
    let mut request =
        e.cd.create_deployment_group()
            .application_name("etl")
            .deployment_group_name("calc")
            .service_role_arn(ROLE)
            .deployment_config_name(config);
    if !alarms.is_empty() {
        let mut alarm_config = AlarmConfiguration::builder().enabled(true);
        for name in alarms {
            alarm_config = alarm_config.alarms(Alarm::builder().name(*name).build());
        }
        request = request.alarm_configuration(alarm_config.build());
    }
    if !rollback.is_empty() {
        request = request.auto_rollback_configuration(
            AutoRollbackConfiguration::builder().enabled(true).set_events(Some(rollback.to_vec())).build(),
        );
    }
    request.send().await.context("CreateDeploymentGroup")?;
    Ok(())
}

fn appspec(current: &str, target: &str, pre: Option<&str>, post: Option<&str>) -> String {
    let mut hooks = Vec::new();
    if let Some(pre) = pre {
        hooks.push(json!({"BeforeAllowTraffic": pre}));
    }
    if let Some(post) = post {
        hooks.push(json!({"AfterAllowTraffic": post}));
    }
    json!({
        "version": 0.0,
        "Resources": [{"calc": {"Type": "AWS::Lambda::Function", "Properties": {"Name": "calc", "Alias": "live", "CurrentVersion": current, "TargetVersion": target}}}],
        "Hooks": hooks,
    })
    .to_string()
}

fn revision(content: &str) -> RevisionLocation {
    RevisionLocation::builder()
        .revision_type(RevisionLocationType::AppSpecContent)
        .app_spec_content(AppSpecContent::builder().content(content).build())
        .build()
}

async fn deploy(e: &Env, spec: &str) -> Result<String> {
    let out =
        e.cd.create_deployment()
            .application_name("etl")
            .deployment_group_name("calc")
            .revision(revision(spec))
            .send()
            .await
            .context("CreateDeployment")?;
    Ok(out.deployment_id().context("no deployment id")?.to_owned())
}

async fn info(e: &Env, id: &str) -> Result<DeploymentInfo> {
    e.cd.get_deployment().deployment_id(id).send().await?.deployment_info().cloned().context("no deploymentInfo")
}

fn finished(status: Option<&DeploymentStatus>) -> bool {
    matches!(status, Some(DeploymentStatus::Succeeded | DeploymentStatus::Failed | DeploymentStatus::Stopped))
}

/// The alias: primary version and the additional version's weight.
async fn alias(e: &Env) -> Result<(String, Option<(String, f64)>)> {
    let a = e.lambda.get_alias().function_name("calc").name("live").send().await?;
    let extra = a
        .routing_config()
        .and_then(|r| r.additional_version_weights())
        .and_then(|w| w.iter().next())
        .map(|(v, w)| (v.clone(), *w));
    Ok((a.function_version().unwrap_or_default().to_owned(), extra))
}

async fn wait_for_canary(e: &Env, id: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while alias(e).await?.1.is_none() {
        if Instant::now() > deadline || finished(info(e, id).await?.status()) {
            bail!("the canary never started: {:?}", info(e, id).await?);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Samples the alias until the deployment finishes; returns every distinct state seen.
async fn watch(e: &Env, id: &str, limit: Duration) -> Result<(DeploymentInfo, Vec<(String, Option<(String, f64)>)>)> {
    let deadline = Instant::now() + limit;
    let mut seen: Vec<(String, Option<(String, f64)>)> = Vec::new();
    loop {
        let state = alias(e).await?;
        if seen.last() != Some(&state) {
            seen.push(state);
        }
        let d = info(e, id).await?;
        if finished(d.status()) {
            let state = alias(e).await?;
            if seen.last() != Some(&state) {
                seen.push(state);
            }
            return Ok((d, seen));
        }
        if Instant::now() > deadline {
            bail!("deployment {id} still {:?} after {limit:?}; alias states {seen:?}", d.status());
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

fn weights(seen: &[(String, Option<(String, f64)>)]) -> Vec<f64> {
    seen.iter().filter_map(|(_, extra)| extra.as_ref().map(|(_, w)| (w * 100.0).round())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_with_hooks_shifts_ten_percent_then_everything() -> Result<()> {
    let e = env("cd-canary", 60.0).await?;
    two_versions(&e.lambda).await?;
    create_function(&e.lambda, "pre-hook", HOOK, &[("HOOK_RESULT", "Succeeded")]).await?;
    create_function(&e.lambda, "post-hook", HOOK, &[("HOOK_RESULT", "Succeeded")]).await?;
    group(&e, "CodeDeployDefault.LambdaCanary10Percent5Minutes", &[], &[]).await?;

    let started = Instant::now();
    let id = deploy(&e, &appspec("1", "2", Some("pre-hook"), Some("post-hook"))).await?;
    let (d, seen) = watch(&e, &id, Duration::from_secs(60)).await?;
    assert_eq!(d.status(), Some(&DeploymentStatus::Succeeded), "{d:?}");
    assert_eq!(weights(&seen), [10.0], "one canary step: {seen:?}");
    assert_eq!(seen.first(), Some(&("1".to_owned(), None)));
    assert_eq!(seen.last(), Some(&("2".to_owned(), None)), "all traffic on the target at the end");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(5) && elapsed < Duration::from_secs(9),
        "a 5-minute canary at scale 60 takes about 5 s (plus two hooks), took {elapsed:?}"
    );

    // The target id is the one ListDeploymentTargets gives, never one built by hand.
    let targets = e.cd.list_deployment_targets().deployment_id(&id).send().await?;
    let target_id = targets.target_ids().first().context("one target")?;
    let target = e.cd.get_deployment_target().deployment_id(&id).target_id(target_id).send().await?;
    let lambda_target = target.deployment_target().and_then(|t| t.lambda_target()).context("lambda target")?;
    let events: Vec<(String, String)> = lambda_target
        .lifecycle_events()
        .iter()
        .map(|ev| {
            (
                ev.lifecycle_event_name().unwrap_or_default().to_owned(),
                ev.status().map(|s| s.as_str().to_owned()).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("BeforeAllowTraffic".into(), "Succeeded".into()),
            ("AllowTraffic".into(), "Succeeded".into()),
            ("AfterAllowTraffic".into(), "Succeeded".into())
        ]
    );
    let info = lambda_target.lambda_function_info().context("function info")?;
    assert_eq!((info.current_version(), info.target_version()), (Some("1"), Some("2")));
    assert_eq!(targets.target_ids(), ["calc:live"]);
    Ok(())
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// What a hook can learn about its deployment on AWS, pinned with the real SDK:
/// GetDeployment names an inline AppSpec by its SHA-256 without the content (a hook
/// that reads `revision.appSpecContent.content` there gets nothing), the content
/// comes back from GetApplicationRevision, and the function, alias and versions
/// from ListDeploymentTargets + GetDeploymentTarget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_learns_its_target_the_ways_aws_answers() -> Result<()> {
    let e = env("cd-target-shapes", 60.0).await?;
    two_versions(&e.lambda).await?;
    group(&e, "CodeDeployDefault.LambdaCanary10Percent5Minutes", &[], &[]).await?;
    let spec = appspec("1", "2", None, None);
    let id = deploy(&e, &spec).await?;

    // Mid-canary: the target reports the weight on the new version, in percent.
    wait_for_canary(&e, &id).await?;
    let targets = e.cd.list_deployment_targets().deployment_id(&id).send().await?;
    let [target_id] = targets.target_ids() else { bail!("one Lambda target: {targets:?}") };
    let during = e.cd.get_deployment_target().deployment_id(&id).target_id(target_id).send().await?;
    let lambda = during.deployment_target().and_then(|t| t.lambda_target()).context("lambdaTarget")?;
    assert_eq!(
        during.deployment_target().and_then(|t| t.deployment_target_type()).map(|t| t.as_str()),
        Some("LambdaTarget")
    );
    assert_eq!(lambda.status().map(|s| s.as_str()), Some("InProgress"));
    let info = lambda.lambda_function_info().context("lambdaFunctionInfo")?;
    assert_eq!(info.target_version_weight(), 10.0, "{info:?}");

    let (d, _) = watch(&e, &id, Duration::from_secs(30)).await?;
    assert_eq!(d.status(), Some(&DeploymentStatus::Succeeded));
    let revision = d.revision().context("GetDeployment names the revision")?;
    assert_eq!(revision.revision_type(), Some(&RevisionLocationType::AppSpecContent));
    let inline = revision.app_spec_content().context("appSpecContent")?;
    assert_eq!(inline.content(), None, "GetDeployment does not give the AppSpec back");
    assert_eq!(inline.sha256(), Some(sha256_hex(&spec).as_str()));
    let batch = e.cd.batch_get_deployments().deployment_ids(&id).send().await?;
    let batched = batch.deployments_info().first().and_then(|b| b.revision()).context("batched revision")?;
    assert_eq!(batched.app_spec_content().and_then(|c| c.content()), None);

    // GetApplicationRevision with the revision GetDeployment named.
    let read = e.cd.get_application_revision().application_name("etl").revision(revision.clone()).send().await?;
    assert_eq!(read.application_name(), Some("etl"));
    assert_eq!(read.revision().and_then(|r| r.string()).and_then(|s| s.content()), Some(spec.as_str()));
    assert_eq!(read.revision_info().map(|i| i.deployment_groups()), Some(&["calc".to_owned()][..]));

    // ListDeploymentTargets + GetDeploymentTarget / BatchGetDeploymentTargets.
    let target = e.cd.get_deployment_target().deployment_id(&id).target_id(target_id).send().await?;
    let lambda = target.deployment_target().and_then(|t| t.lambda_target()).context("lambdaTarget")?;
    assert_eq!(lambda.deployment_id(), Some(id.as_str()));
    assert_eq!(lambda.target_id(), Some(target_id.as_str()));
    assert_eq!(lambda.status().map(|s| s.as_str()), Some("Succeeded"));
    let info = lambda.lambda_function_info().context("lambdaFunctionInfo")?;
    assert_eq!(
        (info.function_name(), info.function_alias(), info.current_version(), info.target_version()),
        (Some("calc"), Some("live"), Some("1"), Some("2"))
    );
    assert_eq!(info.target_version_weight(), 100.0);
    let events: Vec<&str> = lambda.lifecycle_events().iter().filter_map(|ev| ev.lifecycle_event_name()).collect();
    assert_eq!(events, ["BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"]);
    let batch = e.cd.batch_get_deployment_targets().deployment_id(&id).target_ids(target_id).send().await?;
    let batched = batch.deployment_targets().first().and_then(|t| t.lambda_target()).context("batched target")?;
    assert_eq!(batched.lambda_function_info(), Some(info));

    // A revision nobody deployed, and a target the deployment does not have.
    let unknown = RevisionLocation::builder()
        .revision_type(RevisionLocationType::AppSpecContent)
        .app_spec_content(AppSpecContent::builder().sha256(sha256_hex("not deployed")).build())
        .build();
    let err: aws_sdk_codedeploy::Error =
        e.cd.get_application_revision().application_name("etl").revision(unknown).send().await.unwrap_err().into();
    assert_eq!(err.code(), Some("RevisionDoesNotExistException"));
    let err: aws_sdk_codedeploy::Error =
        e.cd.get_deployment_target().deployment_id(&id).target_id("other:live").send().await.unwrap_err().into();
    assert_eq!(err.code(), Some("DeploymentTargetDoesNotExistException"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linear_and_custom_schedules_step_the_alias() -> Result<()> {
    let e = env("cd-linear", 120.0).await?;
    two_versions(&e.lambda).await?;
    e.cd.create_deployment_config()
        .deployment_config_name("Linear25Every1")
        .compute_platform(ComputePlatform::Lambda)
        .traffic_routing_config(
            TrafficRoutingConfig::builder()
                .r#type(TrafficRoutingType::TimeBasedLinear)
                .time_based_linear(TimeBasedLinear::builder().linear_percentage(25).linear_interval(1).build())
                .build(),
        )
        .send()
        .await?;
    group(&e, "Linear25Every1", &[], &[]).await?;
    let id = deploy(&e, &appspec("1", "2", None, None)).await?;
    let (d, seen) = watch(&e, &id, Duration::from_secs(30)).await?;
    assert_eq!(d.status(), Some(&DeploymentStatus::Succeeded));
    assert_eq!(weights(&seen), [25.0, 50.0, 75.0], "{seen:?}");
    assert_eq!(seen.last(), Some(&("2".to_owned(), None)));

    // Back to 1 with the predefined linear config, overriding the group's.
    let back =
        e.cd.create_deployment()
            .application_name("etl")
            .deployment_group_name("calc")
            .deployment_config_name("CodeDeployDefault.LambdaLinear10PercentEvery1Minute")
            .revision(revision(&appspec("2", "1", None, None)))
            .send()
            .await?;
    let (d, seen) = watch(&e, back.deployment_id().unwrap_or_default(), Duration::from_secs(30)).await?;
    assert_eq!(d.status(), Some(&DeploymentStatus::Succeeded));
    assert_eq!(weights(&seen), [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0], "{seen:?}");
    assert_eq!(seen.last(), Some(&("1".to_owned(), None)));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_pre_traffic_hook_means_no_traffic_ever_shifts() -> Result<()> {
    let e = env("cd-hook-fails", 60.0).await?;
    two_versions(&e.lambda).await?;
    create_function(&e.lambda, "pre-hook", HOOK, &[("HOOK_RESULT", "Failed")]).await?;
    group(&e, "CodeDeployDefault.LambdaCanary10Percent5Minutes", &[], &[AutoRollbackEvent::DeploymentFailure]).await?;
    let id = deploy(&e, &appspec("1", "2", Some("pre-hook"), None)).await?;
    let (d, seen) = watch(&e, &id, Duration::from_secs(30)).await?;
    assert_eq!(d.status(), Some(&DeploymentStatus::Failed));
    let error = d.error_information().context("errorInformation")?;
    assert_eq!(error.code().map(|c| c.as_str()), Some("HOOK_EXECUTION_FAILURE"));
    assert!(error.message().is_some_and(|m| m.contains("pre-hook")), "{error:?}");
    assert_eq!(seen, [("1".to_owned(), None)], "the alias never moved");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_that_never_answers_fails_after_the_hour() -> Result<()> {
    // At scale 3600 the one-hour hook limit is one second.
    let e = env("cd-hook-silent", 3600.0).await?;
    two_versions(&e.lambda).await?;
    create_function(&e.lambda, "post-hook", HOOK, &[("HOOK_RESULT", "Silent")]).await?;
    group(&e, "CodeDeployDefault.LambdaAllAtOnce", &[], &[]).await?;
    let id = deploy(&e, &appspec("1", "2", None, Some("post-hook"))).await?;
    let (d, seen) = watch(&e, &id, Duration::from_secs(30)).await?;
    assert_eq!(d.status(), Some(&DeploymentStatus::Failed));
    assert!(d.error_information().and_then(|x| x.message()).is_some_and(|m| m.contains("within one hour")), "{d:?}");
    assert!(seen.contains(&("2".to_owned(), None)), "traffic had shifted before the post hook: {seen:?}");
    assert_eq!(alias(&e).await?, ("1".to_owned(), None), "and returned to the old version when it failed");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alarm_mid_canary_stops_and_rolls_back() -> Result<()> {
    let e = env("cd-alarm", 60.0).await?;
    two_versions(&e.lambda).await?;
    e.cw.put_metric_alarm()
        .alarm_name("calc-errors")
        .namespace("AWS/Lambda")
        .metric_name("Errors")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanOrEqualToThreshold)
        .send()
        .await?;
    group(
        &e,
        "CodeDeployDefault.LambdaCanary10Percent30Minutes",
        &["calc-errors"],
        &[AutoRollbackEvent::DeploymentStopOnAlarm],
    )
    .await?;
    let id = deploy(&e, &appspec("1", "2", None, None)).await?;

    wait_for_canary(&e, &id).await?;
    let fired = Instant::now();
    e.cw.set_alarm_state()
        .alarm_name("calc-errors")
        .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
        .state_reason("test")
        .send()
        .await?;
    while alias(&e).await? != ("1".to_owned(), None) {
        ensure!(fired.elapsed() < Duration::from_secs(5), "alias not restored 5 s after the alarm");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let restored_in = fired.elapsed();
    assert!(restored_in < Duration::from_millis(1500), "alias restored {restored_in:?} after the alarm");

    let (d, _) = watch(&e, &id, Duration::from_secs(10)).await?;
    assert_eq!(d.status(), Some(&DeploymentStatus::Stopped));
    assert_eq!(d.error_information().and_then(|x| x.code()).map(|c| c.as_str()), Some("ALARM_ACTIVE"));
    let rollback_id =
        d.rollback_info().and_then(|r| r.rollback_deployment_id()).context("rollbackInfo.rollbackDeploymentId")?;
    assert_ne!(rollback_id, id);
    let rollback = info(&e, rollback_id).await?;
    assert_eq!(rollback.status(), Some(&DeploymentStatus::Succeeded));
    assert_eq!(rollback.creator().map(|c| c.as_str()), Some("autoRollback"));
    assert_eq!(rollback.rollback_info().and_then(|r| r.rollback_triggering_deployment_id()), Some(id.as_str()));
    assert_eq!(alias(&e).await?, ("1".to_owned(), None));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_deployments_get_the_aws_errors() -> Result<()> {
    let e = env("cd-invalid", 600.0).await?;
    two_versions(&e.lambda).await?;
    let code = |err: &aws_sdk_codedeploy::Error| err.meta().code().unwrap_or_default().to_owned();

    // Unknown application, group and config; malformed AppSpec.
    let err: aws_sdk_codedeploy::Error =
        e.cd.get_application().application_name("nope").send().await.unwrap_err().into();
    assert_eq!(code(&err), "ApplicationDoesNotExistException");
    e.cd.create_application().application_name("etl").compute_platform(ComputePlatform::Lambda).send().await?;
    let err: aws_sdk_codedeploy::Error =
        e.cd.get_deployment_group()
            .application_name("etl")
            .deployment_group_name("nope")
            .send()
            .await
            .unwrap_err()
            .into();
    assert_eq!(code(&err), "DeploymentGroupDoesNotExistException");
    let err: aws_sdk_codedeploy::Error =
        e.cd.create_deployment_group()
            .application_name("etl")
            .deployment_group_name("calc")
            .service_role_arn(ROLE)
            .deployment_config_name("CodeDeployDefault.Nope")
            .send()
            .await
            .unwrap_err()
            .into();
    assert_eq!(code(&err), "DeploymentConfigDoesNotExistException");
    group(&e, "CodeDeployDefault.LambdaCanary10Percent30Minutes", &[], &[]).await?;
    for bad in ["not an appspec: [", r#"{"version": 0.0, "Resources": []}"#] {
        let err: aws_sdk_codedeploy::Error =
            e.cd.create_deployment()
                .application_name("etl")
                .deployment_group_name("calc")
                .revision(revision(bad))
                .send()
                .await
                .unwrap_err()
                .into();
        assert_eq!(code(&err), "InvalidRevisionException", "{bad}");
    }

    // CurrentVersion that is not the alias's, Target = Current, $LATEST: failed deployments.
    for (current, target, expect) in
        [("2", "1", "points to version 1"), ("1", "1", "nothing to shift"), ("1", "$LATEST", "$LATEST")]
    {
        let id = deploy(&e, &appspec(current, target, None, None)).await?;
        let (d, seen) = watch(&e, &id, Duration::from_secs(10)).await?;
        assert_eq!(d.status(), Some(&DeploymentStatus::Failed), "{current}->{target}");
        let error = d.error_information().context("errorInformation")?;
        assert!(error.message().is_some_and(|m| m.contains(expect)), "{current}->{target}: {error:?}");
        assert_eq!(seen, [("1".to_owned(), None)]);
    }

    // One active deployment per group; stopping a finished one.
    let running = deploy(&e, &appspec("1", "2", None, None)).await?;
    let err: aws_sdk_codedeploy::Error =
        e.cd.create_deployment()
            .application_name("etl")
            .deployment_group_name("calc")
            .revision(revision(&appspec("1", "2", None, None)))
            .send()
            .await
            .unwrap_err()
            .into();
    assert_eq!(code(&err), "DeploymentLimitExceededException");
    let stop = e.cd.stop_deployment().deployment_id(&running).auto_rollback_enabled(true).send().await?;
    assert_eq!(stop.status().map(|s| s.as_str()), Some("Pending"));
    let (d, _) = watch(&e, &running, Duration::from_secs(10)).await?;
    assert_eq!(d.status(), Some(&DeploymentStatus::Stopped));
    assert_eq!(alias(&e).await?, ("1".to_owned(), None));
    let err: aws_sdk_codedeploy::Error =
        e.cd.stop_deployment().deployment_id(&running).send().await.unwrap_err().into();
    assert_eq!(code(&err), "DeploymentAlreadyCompletedException");
    let err: aws_sdk_codedeploy::Error =
        e.cd.get_deployment().deployment_id("d-NOTREAL00").send().await.unwrap_err().into();
    assert_eq!(code(&err), "DeploymentDoesNotExistException");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weighted_alias_routing_follows_the_weights() -> Result<()> {
    let e = env("cd-routing", 1.0).await?;
    two_versions(&e.lambda).await?;
    let weights = std::collections::HashMap::from([("2".to_owned(), 0.1)]);
    e.lambda
        .update_alias()
        .function_name("calc")
        .name("live")
        .function_version("1")
        .routing_config(AliasRoutingConfiguration::builder().set_additional_version_weights(Some(weights)).build())
        .send()
        .await?;
    // ministack spends ~100 ms on each provided-runtime invoke: run 8 at a time.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let lambda = e.lambda.clone();
        tasks.push(tokio::spawn(async move {
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for _ in 0..250 {
                let out = lambda
                    .invoke()
                    .function_name("calc")
                    .qualifier("live")
                    .payload(Blob::new(br#"{"n": 3}"#.to_vec()))
                    .send()
                    .await?;
                let version = out.executed_version().unwrap_or_default().to_owned();
                let body: serde_json::Value =
                    serde_json::from_slice(out.payload().map(|p| p.as_ref()).unwrap_or_default())?;
                let expected = if version == "2" { 9 } else { 6 };
                ensure!(body["result"] == expected, "version {version} ran its own code: {body}");
                *counts.entry(version).or_default() += 1;
            }
            anyhow::Ok(counts)
        }));
    }
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for task in tasks {
        for (version, n) in task.await?? {
            *counts.entry(version).or_default() += n;
        }
    }
    assert_eq!(counts.values().sum::<usize>(), 2000);
    let share = counts.get("2").copied().unwrap_or_default() as f64 / 2000.0 * 100.0;
    assert!((7.0..=13.0).contains(&share), "10 % +- 3 points went to version 2: {counts:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_mid_deployment_restores_the_alias() -> Result<()> {
    let e = env("cd-restart", 60.0).await?;
    two_versions(&e.lambda).await?;
    group(&e, "CodeDeployDefault.LambdaCanary10Percent30Minutes", &[], &[]).await?;
    let id = deploy(&e, &appspec("1", "2", None, None)).await?;
    wait_for_canary(&e, &id).await?;
    // Kill the front mid-canary, then bring it back: the emulator (and the split alias) survive.
    let front = localcloud::process::read_pid(&e.cloud.config().localcloud_pid_file()).context("localcloud.pid")?;
    localcloud::process::terminate_group(front, Duration::from_millis(1));
    assert_eq!(alias(&e).await.ok(), None, "the front is down");
    localcloud::lifecycle::up(e.cloud.config())?;
    let d = info(&e, &id).await?;
    assert_eq!(d.status(), Some(&DeploymentStatus::Failed));
    assert!(d.error_information().and_then(|x| x.message()).is_some_and(|m| m.contains("localcloud stopped")), "{d:?}");
    assert_eq!(alias(&e).await?, ("1".to_owned(), None), "no alias left on a mix of versions");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_predefined_config_follows_its_schedule() -> Result<()> {
    // At scale 240 a one-minute step lasts 250 ms; ten minutes, 2.5 s.
    let e = env("cd-predefined", 240.0).await?;
    two_versions(&e.lambda).await?;
    group(&e, "CodeDeployDefault.LambdaAllAtOnce", &[], &[]).await?;
    let linear: Vec<f64> = (1..=9).map(|i| f64::from(i) * 10.0).collect();
    let configs: [(&str, Vec<f64>); 9] = [
        ("CodeDeployDefault.LambdaAllAtOnce", vec![]),
        ("CodeDeployDefault.LambdaCanary10Percent5Minutes", vec![10.0]),
        ("CodeDeployDefault.LambdaCanary10Percent10Minutes", vec![10.0]),
        ("CodeDeployDefault.LambdaCanary10Percent15Minutes", vec![10.0]),
        ("CodeDeployDefault.LambdaCanary10Percent30Minutes", vec![10.0]),
        ("CodeDeployDefault.LambdaLinear10PercentEvery1Minute", linear.clone()),
        ("CodeDeployDefault.LambdaLinear10PercentEvery2Minutes", linear.clone()),
        ("CodeDeployDefault.LambdaLinear10PercentEvery3Minutes", linear.clone()),
        ("CodeDeployDefault.LambdaLinear10PercentEvery10Minutes", linear),
    ];
    let mut on = "1";
    for (config, expected) in configs {
        let target = if on == "1" { "2" } else { "1" };
        let out =
            e.cd.create_deployment()
                .application_name("etl")
                .deployment_group_name("calc")
                .deployment_config_name(config)
                .revision(revision(&appspec(on, target, None, None)))
                .send()
                .await?;
        let (d, seen) = watch(&e, out.deployment_id().unwrap_or_default(), Duration::from_secs(60)).await?;
        assert_eq!(d.status(), Some(&DeploymentStatus::Succeeded), "{config}");
        assert_eq!(weights(&seen), expected, "{config}: {seen:?}");
        assert_eq!(seen.last(), Some(&(target.to_owned(), None)), "{config}");
        on = target;
    }
    // The listing and batch calls see all nine, newest first.
    let listed = e.cd.list_deployments().application_name("etl").deployment_group_name("calc").send().await?;
    assert_eq!(listed.deployments().len(), 9);
    let batch = e.cd.batch_get_deployments().set_deployment_ids(Some(listed.deployments().to_vec())).send().await?;
    assert!(batch.deployments_info().iter().all(|d| d.status() == Some(&DeploymentStatus::Succeeded)));
    assert_eq!(
        batch.deployments_info()[0].deployment_config_name(),
        Some("CodeDeployDefault.LambdaLinear10PercentEvery10Minutes")
    );
    let targets =
        e.cd.batch_get_deployment_targets()
            .deployment_id(&listed.deployments()[0])
            .target_ids("calc:live")
            .send()
            .await?;
    assert_eq!(targets.deployment_targets().len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codedeploy_state_belongs_to_the_callers_account() -> Result<()> {
    let e = env("cd-accounts", 60.0).await?;
    e.cd.create_application().application_name("dev-only").compute_platform(ComputePlatform::Lambda).send().await?;
    let tooling = aws_sdk_sts::Client::new(&account_config(&e.cloud.endpoint(), e2e::TOOLING).await);
    let assumed = tooling
        .assume_role()
        .role_arn("arn:aws:iam::222222222222:role/deployer")
        .role_session_name("cd")
        .send()
        .await?;
    let c = assumed.credentials().context("credentials")?;
    let creds = aws_credential_types::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        None,
        "assumed",
    );
    let in_test = aws_sdk_codedeploy::Client::new(&e2e::config_with(&e.cloud.endpoint(), creds).await);
    assert!(in_test.list_applications().send().await?.applications().is_empty(), "dev's application is not in test");
    in_test.create_application().application_name("test-only").compute_platform(ComputePlatform::Lambda).send().await?;
    let test_by_key = aws_sdk_codedeploy::Client::new(&account_config(&e.cloud.endpoint(), e2e::TEST).await);
    assert_eq!(
        test_by_key.list_applications().send().await?.applications(),
        ["test-only"],
        "assumed-role keys act in the role's account"
    );
    assert_eq!(e.cd.list_applications().send().await?.applications(), ["dev-only"]);
    Ok(())
}

/// One raw request to the public endpoint: (status, body).
fn raw(endpoint: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<(u16, String)> {
    use std::io::{Read, Write};
    let address = endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address)?;
    let mut request =
        format!("POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    stream.write_all(body)?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply)?;
    let text = String::from_utf8_lossy(&reply).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).context("status line")?;
    Ok((status, text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_400s_never_500s() -> Result<()> {
    let e = env("cd-malformed", 60.0).await?;
    let endpoint = e.cloud.endpoint();
    let auth = "AWS4-HMAC-SHA256 Credential=111111111111/20260101/us-east-1/codedeploy/aws4_request, SignedHeaders=host, Signature=0";
    let cd = |op: &str, body: &[u8]| -> Result<(u16, String)> {
        raw(
            &endpoint,
            "/",
            &[
                ("X-Amz-Target", &format!("CodeDeploy_20141006.{op}")),
                ("Content-Type", "application/x-amz-json-1.1"),
                ("Authorization", auth),
            ],
            body,
        )
    };
    for (op, body, code) in [
        ("CreateApplication", &br#"{"applicationName": 5}"#[..], "SerializationException"),
        ("CreateApplication", b"{not json", "SerializationException"),
        ("CreateApplication", b"[1, 2]", "SerializationException"),
        ("GetApplication", b"{}", "ApplicationNameRequiredException"),
        ("GetDeployment", br#"{"deploymentId": "nope"}"#, "InvalidDeploymentIdException"),
        ("CreateDeploymentGroup", br#"{"applicationName": "x", "deploymentGroupName": "g", "serviceRoleArn": "arn:aws:iam::1:role/r", "alarmConfiguration": {"enabled": "yes"}}"#, "ApplicationDoesNotExistException"),
        ("FrobnicateDeployment", b"{}", "UnknownOperationException"),
    ] {
        let (status, text) = cd(op, body)?;
        assert_eq!(status, 400, "{op} {}: {text}", String::from_utf8_lossy(body));
        assert!(text.contains(code), "{op}: expected {code} in {text}");
    }
    let big = vec![b' '; 2 << 20];
    let (status, text) = cd("CreateApplication", &big)?;
    assert_eq!(status, 400, "an oversized body: {}", &text[..200.min(text.len())]);

    // CloudWatch: a garbage CBOR body.
    let cw_auth = auth.replace("/codedeploy/", "/monitoring/");
    let (status, garbage) = raw(
        &endpoint,
        "/service/GraniteServiceVersion20100801/operation/PutMetricAlarm",
        &[("smithy-protocol", "rpc-v2-cbor"), ("Content-Type", "application/cbor"), ("Authorization", &cw_auth)],
        b"\xff\xfe\xfd",
    )?;
    assert_eq!(status, 400, "{garbage}");
    assert!(garbage.contains("SerializationException"), "{garbage}");

    // And the service still answers.
    e.cd.create_application().application_name("still-here").compute_platform(ComputePlatform::Lambda).send().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_alarm_stops_the_deployment_unless_ignored() -> Result<()> {
    let e = env("cd-poll-failure", 600.0).await?;
    two_versions(&e.lambda).await?;
    group(
        &e,
        "CodeDeployDefault.LambdaCanary10Percent5Minutes",
        &["no-such-alarm"],
        &[AutoRollbackEvent::DeploymentStopOnAlarm],
    )
    .await?;
    let id = deploy(&e, &appspec("1", "2", None, None)).await?;
    let (d, seen) = watch(&e, &id, Duration::from_secs(20)).await?;
    assert_eq!(d.status(), Some(&DeploymentStatus::Stopped));
    assert!(d.error_information().and_then(|x| x.message()).is_some_and(|m| m.contains("no-such-alarm")), "{d:?}");
    assert_eq!(seen.last(), Some(&("1".to_owned(), None)));

    e.cd.update_deployment_group()
        .application_name("etl")
        .current_deployment_group_name("calc")
        .alarm_configuration(
            AlarmConfiguration::builder()
                .enabled(true)
                .ignore_poll_alarm_failure(true)
                .alarms(Alarm::builder().name("no-such-alarm").build())
                .build(),
        )
        .send()
        .await?;
    let id = deploy(&e, &appspec("1", "2", None, None)).await?;
    let (d, _) = watch(&e, &id, Duration::from_secs(20)).await?;
    assert_eq!(d.status(), Some(&DeploymentStatus::Succeeded), "ignorePollAlarmFailure lets it proceed: {d:?}");
    assert_eq!(alias(&e).await?, ("2".to_owned(), None));
    Ok(())
}
