//! `gatewright`: validate and translate Gateway API manifests, or serve them to Envoy over xDS.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use gatewright::output::{self, DocumentOptions, ResourceType};
use gatewright::{Kind, Object};

// The translation allocates many small, short-lived objects (keys, names, IR nodes); mimalloc
// serves them at about a third of glibc malloc's cost (BENCHMARKS.md), as Envoy itself links
// tcmalloc for the same reason.
#[global_allocator]
static ALLOC: gatewright::alloc::Allocator = gatewright::alloc::Allocator;

#[derive(Parser)]
#[command(
    name = "gatewright",
    version,
    about = "Kubernetes Gateway API to Envoy, offline or over xDS"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Yaml,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ChannelArg {
    Standard,
    Experimental,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DiagFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AdsMode {
    Sotw,
    Delta,
}

#[derive(Subcommand)]
enum Command {
    /// Translate manifests into Envoy resources and Gateway API status.
    Translate {
        /// Manifest files or directories (`-` for stdin).
        #[arg(short = 'f', long = "file", required = true)]
        files: Vec<PathBuf>,
        /// What to output: xds, status, or both (comma-separated).
        #[arg(long, default_value = "xds,status", value_delimiter = ',')]
        to: Vec<String>,
        /// Resource types: all, listener, route, cluster, endpoint, secret, bootstrap.
        #[arg(
            short = 't',
            long = "type",
            default_value = "all",
            value_delimiter = ','
        )]
        types: Vec<String>,
        /// Only this Gateway (`namespace/name`); required with `-t bootstrap`.
        #[arg(long)]
        gateway: Option<String>,
        /// Output format.
        #[arg(short = 'o', long, value_enum, default_value = "yaml")]
        output: Format,
        /// GatewayClasses with this controllerName are ours.
        #[arg(long, default_value = gatewright::translate::DEFAULT_CONTROLLER_NAME)]
        controller_name: String,
        /// The address the bootstrap's listeners bind.
        #[arg(long, default_value = "0.0.0.0")]
        listen_address: String,
        /// Instead of resources, print where every route went (or why not), with file and line.
        #[arg(long)]
        explain: bool,
    },
    /// Validate manifests offline against the v1.6.1 CRDs (OpenAPI limits and CEL rules).
    ///
    /// Exit code 0: all valid; 1: something is invalid; 2: input unreadable.
    Validate {
        /// Manifest files or directories (`-` for stdin).
        #[arg(short = 'f', long = "file", required = true)]
        files: Vec<PathBuf>,
        /// The CRD channel the cluster runs.
        #[arg(long, value_enum, default_value = "standard")]
        channel: ChannelArg,
        /// Output format.
        #[arg(short = 'o', long, value_enum, default_value = "text")]
        output: DiagFormat,
    },
    /// Print the JSON Schema of a kind.
    Schema {
        /// Kind, e.g. HTTPRoute.
        kind: String,
    },
    /// Serve the manifests of a directory to Envoy over xDS, starting Envoy per Gateway.
    Serve {
        /// The directory to watch.
        #[arg(long)]
        config_dir: PathBuf,
        /// ADS server address.
        #[arg(long, default_value = "127.0.0.1:18000")]
        xds_address: std::net::SocketAddr,
        /// Admin HTTP address (`/status`, `/healthz`, `/metrics`).
        #[arg(long, default_value = "127.0.0.1:19000")]
        admin_address: std::net::SocketAddr,
        /// Envoy binary (else $GATEWRIGHT_ENVOY, else PATH).
        #[arg(long)]
        envoy_path: Option<PathBuf>,
        /// GatewayClasses with this controllerName are ours.
        #[arg(long, default_value = gatewright::translate::DEFAULT_CONTROLLER_NAME)]
        controller_name: String,
        /// Address Envoy's data-plane listeners bind.
        #[arg(long, default_value = "0.0.0.0")]
        listen_address: String,
        /// Quiet time after a file change before translating, so that a burst of writes (an
        /// editor's save, `kubectl`-style multi-file applies) is translated once.
        #[arg(long, default_value = "20ms", value_parser = humantime::parse_duration)]
        debounce: std::time::Duration,
        /// Envoy's log level.
        #[arg(long, default_value = "warn")]
        envoy_log_level: String,
        /// ADS variant Envoy uses: sotw (state of the world) or delta (incremental).
        #[arg(long, value_enum, default_value = "sotw")]
        ads: AdsMode,
        /// PEM certificate chain the xDS server presents: serve xDS over TLS.
        #[arg(long, requires = "xds_tls_key")]
        xds_tls_cert: Option<PathBuf>,
        /// PEM private key of --xds-tls-cert.
        #[arg(long, requires = "xds_tls_cert")]
        xds_tls_key: Option<PathBuf>,
        /// PEM CA bundle xDS clients' certificates must chain to (mutual TLS).
        #[arg(long, requires = "xds_tls_cert")]
        xds_client_ca: Option<PathBuf>,
        /// PEM certificate the Envoys started by the controller present to the xDS server.
        #[arg(long, requires = "xds_tls_cert", requires = "xds_envoy_key")]
        xds_envoy_cert: Option<PathBuf>,
        /// PEM private key of --xds-envoy-cert.
        #[arg(long, requires = "xds_envoy_cert")]
        xds_envoy_key: Option<PathBuf>,
        /// PEM CA bundle Envoy verifies the xDS server's certificate with (default: --xds-client-ca).
        #[arg(long, requires = "xds_tls_cert")]
        xds_server_ca: Option<PathBuf>,
    },
}

fn print(v: &serde_json::Value, f: Format) -> ExitCode {
    let text = match f {
        Format::Json => serde_json::to_string_pretty(v)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string()),
        Format::Yaml => serde_saphyr::to_string(v).map_err(|e| e.to_string()),
    };
    match text {
        Ok(t) => {
            print!("{t}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot render output: {e}");
            ExitCode::from(2)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Translate {
            files,
            to,
            types,
            gateway,
            output: fmt,
            controller_name,
            listen_address,
            explain,
        } => {
            let loaded = match gatewright::load::files::load_paths(&files) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            for d in &loaded.diagnostics {
                eprintln!("{d}");
            }
            let snapshot = gatewright::Snapshot::from_loaded(loaded.objects);
            let parallel = gatewright::Parallelism::default();
            let t = gatewright::translate(
                &snapshot,
                &gatewright::Options {
                    controller_name: controller_name.into(),
                    parallel,
                    ..Default::default()
                },
            );
            if explain {
                print!("{}", gatewright::explain::explain(&snapshot, &t));
                return ExitCode::SUCCESS;
            }
            if types.iter().any(|t| t == "bootstrap") {
                let Some(gw) = gateway else {
                    eprintln!("error: -t bootstrap needs --gateway NAMESPACE/NAME");
                    return ExitCode::from(2);
                };
                return match output::static_bootstrap(&t, &gw, &listen_address) {
                    Ok(b) => print(&b, fmt),
                    Err(e) => {
                        eprintln!("error: {e}");
                        ExitCode::from(1)
                    }
                };
            }
            let mut rtypes = Vec::new();
            for ty in &types {
                if ty == "all" {
                    rtypes = ResourceType::ALL.to_vec();
                    break;
                }
                match ResourceType::parse(ty) {
                    Some(r) => rtypes.push(r),
                    None => {
                        eprintln!("error: unknown resource type {ty:?}");
                        return ExitCode::from(2);
                    }
                }
            }
            let opts = DocumentOptions {
                xds: to.iter().any(|t| t == "xds"),
                status: to.iter().any(|t| t == "status"),
                types: rtypes,
                gateway,
                parallel,
            };
            match output::document(&t, &opts) {
                Ok(doc) => print(&doc, fmt),
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Validate {
            files,
            channel,
            output: fmt,
        } => validate(&files, channel, fmt),
        Command::Schema { kind } => match Kind::parse(&kind) {
            Some(k) => print(
                &serde_json::to_value(Object::schema(k)).unwrap_or_default(),
                Format::Json,
            ),
            None => {
                let known: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                eprintln!(
                    "error: unknown kind {kind:?}; known kinds: {}",
                    known.join(", ")
                );
                ExitCode::from(2)
            }
        },
        Command::Serve {
            config_dir,
            xds_address,
            admin_address,
            envoy_path,
            controller_name,
            listen_address,
            debounce,
            envoy_log_level,
            ads,
            xds_tls_cert,
            xds_tls_key,
            xds_client_ca,
            xds_envoy_cert,
            xds_envoy_key,
            xds_server_ca,
        } => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                // Colours only on a terminal: a log file or pipe gets plain text.
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
                .init();
            let rt = match tokio::runtime::Runtime::new() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("error: cannot start the runtime: {e}");
                    return ExitCode::from(2);
                }
            };
            let opts = gatewright_controller::serve::ServeOptions {
                config_dir,
                xds_address,
                admin_address,
                envoy_path,
                controller_name,
                listen_address,
                debounce,
                extension: None,
                envoy_log_level,
                delta: ads == AdsMode::Delta,
                xds_tls: xds_tls_cert.zip(xds_tls_key).map(|(cert, key)| {
                    gatewright_controller::serve::XdsTlsOptions {
                        cert,
                        key,
                        client_ca: xds_client_ca,
                        envoy_cert: xds_envoy_cert,
                        envoy_key: xds_envoy_key,
                        server_ca: xds_server_ca,
                    }
                }),
            };
            match rt.block_on(gatewright_controller::serve::serve(opts)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

fn validate(files: &[PathBuf], channel: ChannelArg, fmt: DiagFormat) -> ExitCode {
    use gatewright::validate::Channel;
    let loaded = match gatewright::load::files::load_paths(files) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let channel = match channel {
        ChannelArg::Standard => Channel::Standard,
        ChannelArg::Experimental => Channel::Experimental,
    };
    let mut diags = loaded.diagnostics.clone();
    for l in &loaded.objects {
        diags.extend(
            gatewright::validate::validate(&l.object, channel)
                .into_iter()
                .map(|d| d.at(Some(&l.source))),
        );
    }
    match fmt {
        DiagFormat::Text => {
            for d in &diags {
                println!("{d}");
            }
            let errors = diags
                .iter()
                .filter(|d| d.severity == gatewright::Severity::Error)
                .count();
            eprintln!(
                "{} object(s) checked, {errors} error(s), {} warning(s)",
                loaded.objects.len(),
                diags.len() - errors
            );
        }
        DiagFormat::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&diags).unwrap_or_default()
            );
        }
    }
    if diags
        .iter()
        .any(|d| d.severity == gatewright::Severity::Error)
    {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
