//! localcloud's benchmark figures (run by scripts/bench-localcloud.sh against a
//! release build of localcloud):
//! 1. the median latency localcloud adds to a passed-through request, against
//!    calling ministack directly (target: under 1 ms);
//! 2. the time from an alarm's ALARM state to the alias restored (target: under 1.5 s).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use aws_sdk_codedeploy::types::{
    Alarm, AlarmConfiguration, AppSpecContent, AutoRollbackConfiguration, AutoRollbackEvent, ComputePlatform,
    DeploymentStatus, RevisionLocation, RevisionLocationType,
};
use e2e::{account_config, DEV};
use localcloud::testing::LocalCloud;

/// A fixture binary of this package, built beside this example (target/<profile>/).
fn fixture(name: &str) -> Result<String> {
    let exe = std::env::current_exe()?;
    let dir =
        exe.parent().and_then(std::path::Path::parent).context("the example runs from target/<profile>/examples")?;
    let path = dir.join(name);
    ensure!(path.exists(), "{} is missing: build it with `cargo build -p e2e --bins`", path.display());
    Ok(path.display().to_string())
}

/// One keep-alive connection sending `GET path` and reading each full reply.
struct Connection {
    reader: BufReader<TcpStream>,
    request: Vec<u8>,
    port: u16,
    /// How often the server closed the connection and we opened another.
    reconnects: usize,
}

impl Connection {
    fn open(port: u16, path: &str) -> Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: AWS4-HMAC-SHA256 Credential={DEV}/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0\r\n\r\n"
        );
        Ok(Self { reader: BufReader::new(stream), request: request.into_bytes(), port, reconnects: 0 })
    }

    /// One request and its reply; a connection the server closed is reopened (and the
    /// request retried, untimed).
    fn round_trip(&mut self) -> Result<Duration> {
        match self.try_round_trip() {
            Ok(Some(elapsed)) => Ok(elapsed),
            Ok(None) | Err(_) => {
                let stream = TcpStream::connect(("127.0.0.1", self.port))?;
                stream.set_nodelay(true)?;
                self.reader = BufReader::new(stream);
                self.reconnects += 1;
                self.try_round_trip()?.context("a fresh connection closed at once")
            }
        }
    }

    fn try_round_trip(&mut self) -> Result<Option<Duration>> {
        let started = Instant::now();
        self.reader.get_mut().write_all(&self.request)?;
        let mut length = None;
        let mut line = String::new();
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Ok(None);
            }
            if line == "\r\n" {
                break;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse::<usize>().ok();
            }
        }
        let mut body = vec![0; length.context("replies carry Content-Length")?];
        self.reader.read_exact(&mut body)?;
        Ok(Some(started.elapsed()))
    }
}

fn percentile(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort_unstable();
    samples[((samples.len() as f64 - 1.0) * q).round() as usize]
}

fn passthrough(cloud: &LocalCloud) -> Result<()> {
    const N: usize = 2000;
    let path = "/2015-03-31/functions/";
    let mut direct = Connection::open(cloud.config().ministack_port, path)?;
    let mut proxied = Connection::open(cloud.config().public_port, path)?;
    for _ in 0..200 {
        direct.round_trip()?;
        proxied.round_trip()?;
    }
    let (mut a, mut b) = (Vec::with_capacity(N), Vec::with_capacity(N));
    // Interleaved, so that both see the same machine load.
    for _ in 0..N {
        a.push(direct.round_trip()?);
        b.push(proxied.round_trip()?);
    }
    let (d50, p50) = (percentile(&mut a, 0.5), percentile(&mut b, 0.5));
    let (d90, p90) = (percentile(&mut a, 0.9), percentile(&mut b, 0.9));
    println!("pass-through (Lambda ListFunctions, {N} requests each, keep-alive):");
    println!(
        "  ministack direct   median {:>8.1} us   p90 {:>8.1} us",
        d50.as_secs_f64() * 1e6,
        d90.as_secs_f64() * 1e6
    );
    println!(
        "  through localcloud median {:>8.1} us   p90 {:>8.1} us",
        p50.as_secs_f64() * 1e6,
        p90.as_secs_f64() * 1e6
    );
    println!(
        "  added by localcloud: median {:.1} us (target < 1000 us); reconnects: direct {}, proxied {}",
        (p50.as_secs_f64() - d50.as_secs_f64()) * 1e6,
        direct.reconnects,
        proxied.reconnects
    );
    Ok(())
}

async fn alias(lambda: &aws_sdk_lambda::Client) -> Result<(String, bool)> {
    let a = lambda.get_alias().function_name("calc").name("live").send().await?;
    let split = a.routing_config().and_then(|r| r.additional_version_weights()).is_some_and(|w| !w.is_empty());
    Ok((a.function_version().unwrap_or_default().to_owned(), split))
}

async fn alarm_to_restore(cloud: &LocalCloud) -> Result<()> {
    const ROUNDS: usize = 7;
    let config = account_config(&cloud.endpoint(), DEV).await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let cd = aws_sdk_codedeploy::Client::new(&config);
    let cw = aws_sdk_cloudwatch::Client::new(&config);
    e2e::lambda::two_versions(&lambda, "calc", &fixture("fixture-double")?, &fixture("fixture-square")?).await?;
    cw.put_metric_alarm()
        .alarm_name("calc-errors")
        .namespace("AWS/Lambda")
        .metric_name("Errors")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanOrEqualToThreshold)
        .treat_missing_data("notBreaching")
        .send()
        .await?;
    cd.create_application().application_name("etl").compute_platform(ComputePlatform::Lambda).send().await?;
    cd.create_deployment_group()
        .application_name("etl")
        .deployment_group_name("calc")
        .service_role_arn("arn:aws:iam::111111111111:role/codedeploy")
        .deployment_config_name("CodeDeployDefault.LambdaCanary10Percent30Minutes")
        .alarm_configuration(
            AlarmConfiguration::builder().enabled(true).alarms(Alarm::builder().name("calc-errors").build()).build(),
        )
        .auto_rollback_configuration(
            AutoRollbackConfiguration::builder().enabled(true).events(AutoRollbackEvent::DeploymentStopOnAlarm).build(),
        )
        .send()
        .await?;
    let spec = serde_json::json!({"version": 0.0, "Resources": [{"calc": {"Type": "AWS::Lambda::Function", "Properties": {"Name": "calc", "Alias": "live", "CurrentVersion": "1", "TargetVersion": "2"}}}]}).to_string();
    let mut samples = Vec::new();
    for _ in 0..ROUNDS {
        let id = cd
            .create_deployment()
            .application_name("etl")
            .deployment_group_name("calc")
            .revision(
                RevisionLocation::builder()
                    .revision_type(RevisionLocationType::AppSpecContent)
                    .app_spec_content(AppSpecContent::builder().content(&spec).build())
                    .build(),
            )
            .send()
            .await?
            .deployment_id()
            .unwrap_or_default()
            .to_owned();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !alias(&lambda).await?.1 {
            ensure!(Instant::now() < deadline, "the canary never started");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let fired = Instant::now();
        cw.set_alarm_state()
            .alarm_name("calc-errors")
            .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
            .state_reason("bench")
            .send()
            .await?;
        while alias(&lambda).await? != ("1".to_owned(), false) {
            ensure!(fired.elapsed() < Duration::from_secs(10), "the alias was not restored");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        samples.push(fired.elapsed());
        loop {
            let d = cd.get_deployment().deployment_id(&id).send().await?;
            if matches!(
                d.deployment_info().and_then(|i| i.status()),
                Some(DeploymentStatus::Stopped | DeploymentStatus::Failed | DeploymentStatus::Succeeded)
            ) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        cw.set_alarm_state()
            .alarm_name("calc-errors")
            .state_value(aws_sdk_cloudwatch::types::StateValue::Ok)
            .state_reason("reset")
            .send()
            .await?;
    }
    let max = *samples.iter().max().context("samples")?;
    let median = percentile(&mut samples, 0.5);
    println!("alarm ALARM -> alias restored ({ROUNDS} canaries at 10 %):");
    println!("  median {:.0} ms, max {:.0} ms (target < 1500 ms)", median.as_secs_f64() * 1e3, max.as_secs_f64() * 1e3);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let cloud = LocalCloud::start_scaled("bench-localcloud", 60.0)?;
    println!("localcloud under test: {}", localcloud::testing::localcloud_bin().display());
    passthrough(&cloud)?;
    alarm_to_restore(&cloud).await?;
    Ok(())
}
