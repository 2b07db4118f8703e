use clap::Parser;

fn main() -> std::process::ExitCode {
    // Parse before starting a runtime: `--version` and usage errors return at once.
    let cli = match deployer::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { deployer::error::exit::USAGE } else { deployer::error::exit::OK };
            let _ = e.print();
            return std::process::ExitCode::from(u8::try_from(code).unwrap_or(1));
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let code = runtime.block_on(deployer::commands::run(cli));
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(1))
}
