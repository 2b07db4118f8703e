use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use localcloud::clock::Clock;
use localcloud::cloudwatch::CloudWatch;
use localcloud::codedeploy::store::Persistence;
use localcloud::codedeploy::CodeDeploy;
use localcloud::faults::{self, Faults};
use localcloud::lifecycle::{self, Config, UpOutcome};
use localcloud::proxy::{self, Proxy};
use localcloud::upstream::Upstream;

mod cli;
use cli::{Cli, Command, Lifecycle, Output};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LOCALCLOUD_LOG").unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let code = err.downcast_ref::<lifecycle::LifecycleError>().map_or(1, |e| e.exit_code());
            eprintln!("localcloud: error: {err:#}");
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
    }
}

fn config(args: &Lifecycle) -> anyhow::Result<Config> {
    let exe = std::env::current_exe().context("locating the localcloud executable")?;
    let mut config = Config::new(&args.run_dir, &args.venv, &exe).context("resolving the run folder")?;
    config.public_port = args.port;
    config.ministack_port = args.ministack_port;
    Ok(config)
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Up(args) => {
            let config = config(&args)?;
            match lifecycle::up(&config)? {
                UpOutcome::Started { ministack_pid, localcloud_pid } => println!(
                    "local cloud up at {} (ministack pid {ministack_pid} on 127.0.0.1:{}, localcloud pid {localcloud_pid}); logs in {}",
                    config.endpoint(),
                    config.ministack_port,
                    config.run_dir.display()
                ),
                UpOutcome::AlreadyRunning { ministack_pid, localcloud_pid } => println!(
                    "local cloud already running at {} (ministack pid {ministack_pid}, localcloud pid {localcloud_pid})",
                    config.endpoint()
                ),
            }
        }
        Command::Down(args) => {
            let config = config(&args)?;
            let stopped = lifecycle::down(&config)?;
            if stopped.is_empty() {
                println!("local cloud was not running ({})", config.run_dir.display());
            } else {
                println!("local cloud stopped (pids {stopped:?})");
            }
        }
        Command::Reset(args) => {
            let config = config(&args)?;
            lifecycle::reset(&config)?;
            println!("local cloud state reset at {}", config.endpoint());
        }
        Command::Status { lifecycle: args, output } => {
            let config = config(&args)?;
            let status = lifecycle::status(&config);
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&status)?),
                Output::Text if status.running => println!(
                    "running at {} (ministack pid {}, localcloud pid {})",
                    status.endpoint,
                    status.ministack_pid.unwrap_or_default(),
                    status.localcloud_pid.unwrap_or_default()
                ),
                Output::Text => println!("not running ({})", config.run_dir.display()),
            }
            if let (Output::Text, Some(report)) = (output, &status.faults) {
                print_faults(report);
            }
            if !status.running {
                std::process::exit(lifecycle::LifecycleError::NotRunning { endpoint: status.endpoint }.exit_code());
            }
        }
        Command::Faults { lifecycle: args, spec, output } => {
            let config = config(&args)?;
            if !lifecycle::status(&config).running {
                return Err(lifecycle::LifecycleError::NotRunning { endpoint: config.endpoint() }.into());
            }
            let report = match spec {
                Some(spec) => lifecycle::set_faults(&config, &spec)?,
                None => lifecycle::fault_report(&config).context("reading the fault report")?,
            };
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Output::Text => print_faults(&report),
            }
        }
        Command::Serve(args) => serve(args)?,
    }
    Ok(())
}

/// One line for the spec, one per service that saw a fault.
fn print_faults(report: &faults::Report) {
    let Some(spec) = &report.spec else {
        println!("fault injection: off");
        return;
    };
    let t = &report.total;
    println!(
        "fault injection: LOCALCLOUD_FAULTS={spec}\n  {} requests: throttle {}, reset {}, error {}, lost_reply {}",
        t.requests, t.throttle, t.reset, t.error, t.lost_reply
    );
    for (service, c) in &report.services {
        println!(
            "  {service:<12} {:>6} requests: throttle {}, reset {}, error {}, lost_reply {}",
            c.requests, c.throttle, c.reset, c.error, c.lost_reply
        );
    }
}

fn serve(args: cli::Serve) -> anyhow::Result<()> {
    let spec = faults::spec::parse(&args.faults).map_err(lifecycle::LifecycleError::BadFaults)?;
    if let Some(spec) = &spec {
        tracing::warn!(faults = %spec, "fault injection on");
    }
    let faults = Arc::new(Faults::new(spec));
    std::fs::create_dir_all(&args.state_dir).with_context(|| format!("creating {}", args.state_dir.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
        let upstream = SocketAddr::from((Ipv4Addr::LOCALHOST, args.upstream_port));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        });
        let clock = Clock::from_env();
        let calls = Upstream::new(upstream);
        let cloudwatch = CloudWatch::new(calls.clone(), clock, Some(args.state_dir.join("cloudwatch.json")));
        let codedeploy = CodeDeploy::new(
            Persistence::at(args.state_dir.join("codedeploy.json")),
            calls,
            clock,
            Arc::clone(&cloudwatch),
        );
        // Deployments that were running when localcloud last stopped are finished
        // (aliases restored) before anyone can read them.
        codedeploy.recover().await;
        let evaluator = Arc::clone(&cloudwatch);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(localcloud::cloudwatch::EVALUATION_TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tick.tick().await;
                evaluator.evaluate_all().await;
            }
        });
        tracing::info!(%addr, %upstream, time_scale = clock.scale(), "localcloud serving");
        proxy::serve(listener, Arc::new(Proxy::new(upstream, codedeploy, cloudwatch, faults)), stopped).await?;
        tracing::info!("localcloud stopped");
        Ok(())
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
}
