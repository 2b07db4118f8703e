//! Fault injection (LOCALCLOUD_FAULTS) through the real SDKs: each service's
//! throttling answer is what the SDK knows as throttling, the standard retry mode
//! rides through every kind of fault, a lost reply has really been applied while a
//! reset or a 500 has not, and the calls functions make from inside the emulator
//! are faulted too.

use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_codedeploy::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_codedeploy::types::{
    AppSpecContent, ComputePlatform, DeploymentStatus, RevisionLocation, RevisionLocationType,
};
use e2e::lambda::{create_function, two_versions};
use e2e::{DEV, REGION};
use localcloud::testing::LocalCloud;

const DOUBLE: &str = env!("CARGO_BIN_EXE_fixture-double");
const SQUARE: &str = env!("CARGO_BIN_EXE_fixture-square");
const HOOK: &str = env!("CARGO_BIN_EXE_fixture-hook");

async fn sdk_config(endpoint: &str, retry: RetryConfig) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(DEV, "localcloud-secret", None, None, "localcloud-account"))
        .retry_config(retry)
        .load()
        .await
}

/// Clients of every service the test throttles.
struct Clients {
    lambda: aws_sdk_lambda::Client,
    s3: aws_sdk_s3::Client,
    cd: aws_sdk_codedeploy::Client,
    ddb: aws_sdk_dynamodb::Client,
    sts: aws_sdk_sts::Client,
    cw: aws_sdk_cloudwatch::Client,
    sfn: aws_sdk_sfn::Client,
    sns: aws_sdk_sns::Client,
}

impl Clients {
    async fn new(endpoint: &str, retry: RetryConfig) -> Self {
        let config = sdk_config(endpoint, retry).await;
        Self {
            lambda: aws_sdk_lambda::Client::new(&config),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build(),
            ),
            cd: aws_sdk_codedeploy::Client::new(&config),
            ddb: aws_sdk_dynamodb::Client::new(&config),
            sts: aws_sdk_sts::Client::new(&config),
            cw: aws_sdk_cloudwatch::Client::new(&config),
            sfn: aws_sdk_sfn::Client::new(&config),
            sns: aws_sdk_sns::Client::new(&config),
        }
    }

    /// One read-only call per service: (service, the code and HTTP status it failed
    /// with, or None if it succeeded).
    async fn one_call_each(&self) -> Vec<(&'static str, Option<(String, u16)>)> {
        fn outcome<T, E: ProvideErrorMetadata>(
            result: Result<T, SdkError<E, aws_sdk_codedeploy::config::http::HttpResponse>>,
        ) -> Option<(String, u16)> {
            result.err().map(|e| {
                (e.code().unwrap_or("(no code)").to_owned(), e.raw_response().map_or(0, |r| r.status().as_u16()))
            })
        }
        vec![
            ("lambda", outcome(self.lambda.list_functions().send().await)),
            ("s3", outcome(self.s3.list_buckets().send().await)),
            ("codedeploy", outcome(self.cd.list_applications().send().await)),
            ("dynamodb", outcome(self.ddb.list_tables().send().await)),
            ("sts", outcome(self.sts.get_caller_identity().send().await)),
            ("cloudwatch", outcome(self.cw.list_metrics().send().await)),
            ("stepfunctions", outcome(self.sfn.list_state_machines().send().await)),
            ("sns", outcome(self.sns.list_topics().send().await)),
        ]
    }
}

/// The read-only operations `one_call_each` makes.
const READS: &str =
    "ListFunctions|ListBuckets|ListApplications|ListTables|GetCallerIdentity|ListMetrics|ListStateMachines|ListTopics";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_service_throttles_in_its_own_format_and_the_sdk_rides_through() -> Result<()> {
    let cloud = LocalCloud::start_with_faults("faults-wire", 1.0, &format!("throttle=1,operation={READS},seed=1"))?;

    // With retries off, each SDK reports its service's own throttling code.
    let once = Clients::new(&cloud.endpoint(), RetryConfig::disabled()).await;
    let outcomes = once.one_call_each().await;
    let expected = [
        ("lambda", "TooManyRequestsException", 429),
        ("s3", "SlowDown", 503),
        ("codedeploy", "ThrottlingException", 400),
        ("dynamodb", "ProvisionedThroughputExceededException", 400),
        ("sts", "Throttling", 400),
        // Query-compatible: the SDK takes the code from x-amzn-query-error.
        ("cloudwatch", "Throttling", 400),
        ("stepfunctions", "ThrottlingException", 400),
        ("sns", "Throttling", 400),
    ];
    for ((service, got), (_, code, status)) in outcomes.iter().zip(expected) {
        assert_eq!(got.as_ref().map(|(c, s)| (c.as_str(), *s)), Some((code, status)), "{service}");
    }
    let report = cloud.fault_report().context("fault report")?;
    assert_eq!(report.total.throttle, 8, "{report:?}");
    for service in ["lambda", "s3", "codedeploy", "dynamodb", "sts", "monitoring", "states", "sns"] {
        assert_eq!(report.services.get(service).map(|c| c.throttle), Some(1), "{service}: {report:?}");
    }

    // Every kind of fault at 40 %: the standard retry mode finishes every call.
    cloud.set_faults(&format!("throttle=0.2,reset=0.08,error=0.06,lost_reply=0.06,operation={READS},seed=5"))?;
    let retry = RetryConfig::standard().with_max_attempts(10).with_initial_backoff(Duration::from_millis(10));
    let patient = Clients::new(&cloud.endpoint(), retry).await;
    for round in 0..5 {
        for (service, failed) in patient.one_call_each().await {
            ensure!(failed.is_none(), "round {round}: {service} failed despite retries: {failed:?}");
        }
    }
    let report = cloud.fault_report().context("fault report")?;
    eprintln!("faults injected while retrying: {:?}", report.total);
    let t = &report.total;
    assert!(t.requests >= 8 * 5 + 8, "{report:?}");
    assert!(t.throttle > 8 && t.reset > 0 && t.error > 0 && t.lost_reply > 0, "every kind was injected: {report:?}");
    Ok(())
}

fn dispatch_failure<E, R>(err: &SdkError<E, R>) -> Option<String> {
    match err {
        SdkError::DispatchFailure(failure) => {
            Some(format!("io={} other={:?}", failure.is_io(), failure.as_connector_error().and_then(|c| c.as_other())))
        }
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_reply_was_applied_and_a_reset_or_a_500_was_not() -> Result<()> {
    let spec = "lost_reply=1,service=codedeploy,operation=CreateApplication;\
                error=1,service=codedeploy,operation=CreateDeploymentConfig;\
                lost_reply=1,service=s3,operation=PutObject;\
                reset=1,service=s3,operation=PutBucketTagging|DeleteObject;seed=3";
    let cloud = LocalCloud::start_with_faults("faults-applied", 1.0, spec)?;
    let c = Clients::new(&cloud.endpoint(), RetryConfig::disabled()).await;

    // CodeDeploy: the application exists although the caller got no answer.
    let lost = c.cd.create_application().application_name("etl").compute_platform(ComputePlatform::Lambda).send().await;
    let lost = lost.err().context("CreateApplication's reply is lost")?;
    let how = dispatch_failure(&lost).with_context(|| format!("no answer at all, not an error reply: {lost:?}"))?;
    eprintln!("a lost reply reads as a dispatch failure: {how}");
    assert_eq!(c.cd.list_applications().send().await?.applications(), ["etl"], "the lost call was applied");

    // An empty 500: not applied.
    let config = aws_sdk_codedeploy::types::TrafficRoutingConfig::builder()
        .r#type(aws_sdk_codedeploy::types::TrafficRoutingType::AllAtOnce)
        .build();
    let failed =
        c.cd.create_deployment_config()
            .deployment_config_name("Custom")
            .compute_platform(ComputePlatform::Lambda)
            .traffic_routing_config(config)
            .send()
            .await
            .err()
            .context("CreateDeploymentConfig fails")?;
    assert_eq!(failed.raw_response().map(|r| r.status().as_u16()), Some(500));
    let missing = c.cd.get_deployment_config().deployment_config_name("Custom").send().await.unwrap_err();
    assert_eq!(missing.code(), Some("DeploymentConfigDoesNotExistException"), "the 500 was not applied");

    // S3: a put whose reply was lost is stored; a reset tagging or delete is not applied.
    c.s3.create_bucket().bucket("artifacts").send().await?;
    let put = c.s3.put_object().bucket("artifacts").key("release.json").body(b"{}".to_vec().into()).send().await;
    let put = put.err().context("PutObject's reply is lost")?;
    ensure!(dispatch_failure(&put).is_some(), "{put:?}");
    let head = c.s3.head_object().bucket("artifacts").key("release.json").send().await?;
    assert_eq!(head.content_length(), Some(2), "the object was stored");
    let tagging = aws_sdk_s3::types::Tagging::builder()
        .tag_set(aws_sdk_s3::types::Tag::builder().key("k").value("v").build()?)
        .build()?;
    let reset = c.s3.put_bucket_tagging().bucket("artifacts").tagging(tagging).send().await.err().context("reset")?;
    let how = dispatch_failure(&reset).with_context(|| format!("a reset is a dispatch failure: {reset:?}"))?;
    assert!(how.starts_with("io=true"), "a TCP reset reads as an I/O error: {how}");
    let reset = c.s3.delete_object().bucket("artifacts").key("release.json").send().await;
    ensure!(reset.as_ref().err().and_then(dispatch_failure).is_some(), "{reset:?}");
    c.s3.head_object()
        .bucket("artifacts")
        .key("release.json")
        .send()
        .await
        .context("the reset delete was not applied")?;

    let report = cloud.fault_report().context("fault report")?;
    let (cd, s3) = (&report.services["codedeploy"], &report.services["s3"]);
    assert_eq!((cd.lost_reply, cd.error, s3.lost_reply, s3.reset), (1, 1, 1, 2), "{report:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_from_functions_inside_the_emulator_are_faulted_too() -> Result<()> {
    // The hook's report is always throttled: it never arrives, and at scale 3600 the
    // one-hour hook limit is one second.
    let spec = "throttle=1,service=codedeploy,operation=PutLifecycleEventHookExecutionStatus,seed=9";
    let cloud = LocalCloud::start_with_faults("faults-functions", 3600.0, spec)?;
    let config = e2e::account_config(&cloud.endpoint(), DEV).await;
    let (lambda, cd) = (aws_sdk_lambda::Client::new(&config), aws_sdk_codedeploy::Client::new(&config));
    two_versions(&lambda, "calc", DOUBLE, SQUARE).await?;
    create_function(&lambda, "pre-hook", HOOK, &[("HOOK_RESULT", "Succeeded")]).await?;
    cd.create_application().application_name("etl").compute_platform(ComputePlatform::Lambda).send().await?;
    cd.create_deployment_group()
        .application_name("etl")
        .deployment_group_name("calc")
        .service_role_arn("arn:aws:iam::111111111111:role/codedeploy")
        .deployment_config_name("CodeDeployDefault.LambdaAllAtOnce")
        .send()
        .await?;
    let appspec = serde_json::json!({
        "version": 0.0,
        "Resources": [{"calc": {"Type": "AWS::Lambda::Function", "Properties": {"Name": "calc", "Alias": "live", "CurrentVersion": "1", "TargetVersion": "2"}}}],
        "Hooks": [{"BeforeAllowTraffic": "pre-hook"}],
    })
    .to_string();
    let revision = RevisionLocation::builder()
        .revision_type(RevisionLocationType::AppSpecContent)
        .app_spec_content(AppSpecContent::builder().content(appspec).build())
        .build();
    let id = cd
        .create_deployment()
        .application_name("etl")
        .deployment_group_name("calc")
        .revision(revision)
        .send()
        .await?
        .deployment_id()
        .context("deployment id")?
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    let info = loop {
        let info = cd.get_deployment().deployment_id(&id).send().await?.deployment_info().cloned().context("info")?;
        if matches!(info.status(), Some(DeploymentStatus::Failed | DeploymentStatus::Succeeded)) {
            break info;
        }
        if Instant::now() > deadline {
            bail!("deployment {id} did not finish: {info:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(info.status(), Some(&DeploymentStatus::Failed), "{info:?}");
    let message = info.error_information().and_then(|e| e.message()).unwrap_or_default();
    assert!(message.contains("did not call PutLifecycleEventHookExecutionStatus"), "{message}");
    let report = cloud.fault_report().context("fault report")?;
    let throttled = report.services.get("codedeploy").map_or(0, |c| c.throttle);
    assert!(throttled >= 1, "the hook's own calls met the injected throttling: {report:?}");
    Ok(())
}
