//! Flags, exit codes and the run itself. Exit codes: 0 nothing failed, 1 a fail or error
//! (`--strict`: or a warn), 2 bad usage.

use crate::catalog::{Catalog, FixFormat};
use crate::checks::{registrations, Board, Ctx, Options};
use crate::engine::{self, Engine};
use crate::probes::aws::{SdkOptions, SdkProbe};
use crate::probes::env::ProcessEnv;
use crate::probes::proxy::ProxySettings;
use crate::render::{self, Context, Report};
use crate::validate::{self, ImageRef};
use clap::{CommandFactory, Parser, ValueEnum};
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
    Markdown,
}

/// What `--generate` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Generate {
    /// The man page (roff), e.g. for /usr/local/share/man/man1/ecr-doctor.1
    Man,
    /// Completions for bash
    CompleteBash,
    /// Completions for zsh
    CompleteZsh,
    /// Completions for fish
    CompleteFish,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

const AFTER_HELP: &str = "\
Examples:
  ecr-doctor                                   the whole path (on EC2 or ECS the VPC is detected)
  ecr-doctor --region eu-west-1 --profile prod
  ecr-doctor --registry 210987654321.dkr.ecr.us-east-1.amazonaws.com   another account's registry
  ecr-doctor --vpc vpc-0abc1234def567890 --subnet subnet-0123456789abcdef0
  ecr-doctor --image team/app:1.4              also fetch that image's manifest and a layer
  ecr-doctor --output json > report.json       for a support ticket (add --redact to mask ids)
  ecr-doctor --fix-format terraform            the fixes as Terraform (or cloudformation)
  ecr-doctor --only token.get                  one check and what it depends on
  ecr-doctor --list-checks
  ecr-doctor --explain token.get/expired       what a code means and how to fix it
  ecr-doctor summarize reports/*.json          many hosts' JSON reports in one table

Exit status: 0 nothing failed, 1 a check failed or errored (--strict: or warned), 2 bad usage.
The doctor is read-only: it never changes your files or anything in AWS.
It finds AWS the way the AWS CLI does: AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL[_<SERVICE>],
AWS_CA_BUNDLE, HTTPS_PROXY/NO_PROXY, instance and container metadata.
Reference of every check and code: docs/checks.md";

/// Tells you why this machine cannot log in to or pull from Amazon ECR, and what to change.
///
/// Runs read-only checks along the whole path: credentials, identity, clock, the ECR token,
/// proxy settings, the VPC endpoints a private subnet needs, then DNS, TCP and TLS to every
/// ECR host, the registry login, a manifest and a layer downloaded through S3. Prints a
/// pass/warn/fail table with a fix and a copy-paste command for each problem.
#[derive(Debug, Parser)]
#[command(
    name = "ecr-doctor",
    version,
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    /// AWS region [default: AWS_REGION, the profile's region, or instance metadata]
    #[arg(long, value_name = "REGION", value_parser = validate::region)]
    pub region: Option<String>,

    /// Named profile from ~/.aws/config (like AWS_PROFILE)
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Registry to diagnose [default: <caller account>.dkr.ecr.<region>.amazonaws.com]
    #[arg(long, value_name = "HOST", value_parser = validate::registry)]
    pub registry: Option<String>,

    /// VPC whose endpoints to check (detected automatically on EC2 and ECS)
    #[arg(long, value_name = "VPC_ID", value_parser = validate::vpc_id)]
    pub vpc: Option<String>,

    /// The client's subnet (route table, availability zone)
    #[arg(long, value_name = "SUBNET_ID", value_parser = validate::subnet_id)]
    pub subnet: Option<String>,

    /// The client's security group (repeatable)
    #[arg(long = "security-group", value_name = "SG_ID", value_parser = validate::security_group_id)]
    pub security_groups: Vec<String>,

    /// Image to fetch: REPO[:TAG|@sha256:DIGEST], optionally prefixed by the registry host
    #[arg(long, value_name = "REPO[:TAG|@DIGEST]", value_parser = validate::image)]
    pub image: Option<ImageRef>,

    /// Platform to pick from a multi-platform image
    #[arg(long, value_name = "OS/ARCH", default_value = "linux/amd64", value_parser = validate::platform)]
    pub platform: String,

    /// DNS server to resolve ECR names with [default: the system resolver]
    #[arg(long, value_name = "IP[:PORT]", value_parser = validate::dns_server)]
    pub dns_server: Option<SocketAddr>,

    /// The role that pulls (an ECS task execution role, an EKS node role, a CI role): its
    /// policies are checked, and it is assumed to check as when its trust policy allows [default:
    /// in an ECS task, the execution role of its task definition, for role.permissions]
    #[arg(long, value_name = "ARN", value_parser = validate::role_arn)]
    pub role_arn: Option<String>,

    /// Bound on each network operation, e.g. 500ms, 5s
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = validate::timeout)]
    pub timeout: Duration,

    /// Report format
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,

    /// How "What to do" gives each fix: AWS CLI commands, or the same change as Terraform
    /// or CloudFormation with the real ids filled in
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = FixFormat::Cli)]
    pub fix_format: FixFormat,

    /// Run only these checks (comma-separated ids) and what they depend on
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    pub only: Vec<String>,

    /// Do not run these checks (reported as skipped, with their dependents)
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    pub skip: Vec<String>,

    /// List every check with its title and dependencies, then exit
    #[arg(long)]
    pub list_checks: bool,

    /// Print the reference of a check, one of its codes, or an engine code (meaning, what
    /// it skips, how to fix, the commands), then exit: e.g. token.get, token.get/expired,
    /// timed-out
    #[arg(long, value_name = "CHECK[/CODE]")]
    pub explain: Option<String>,

    /// Print the man page or a shell completion script, then exit
    #[arg(long, value_enum, value_name = "WHAT")]
    pub generate: Option<Generate>,

    /// Colour in the table (NO_COLOR is honoured by auto)
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Exit 1 on warnings too
    #[arg(long)]
    pub strict: bool,

    /// Mask account ids, ARNs, access key ids and IP addresses in the output
    #[arg(long)]
    pub redact: bool,

    /// The error you saw (docker, containerd, an ECS stopped reason, a kubelet event, the AWS
    /// CLI), or - to read it from stdin: the report says what it means, which checks can
    /// explain it and which did; the image, registry and failing address are taken from it
    /// when no flag gives them
    #[arg(long, value_name = "TEXT")]
    pub symptom: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What else ecr-doctor does besides diagnosing this machine.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    Summarize(crate::summarize::Args),
}

impl Cli {
    /// What the checks are asked to do: the flags, with the region the run settled on.
    pub fn options(&self, region: String) -> Options {
        Options {
            region,
            registry: self.registry.clone(),
            vpc: self.vpc.clone(),
            subnet: self.subnet.clone(),
            security_groups: self.security_groups.clone(),
            image: self.image.clone(),
            platform: self.platform.clone(),
            dns_server: self.dns_server,
            role_arn: self.role_arn.clone(),
            timeout: self.timeout,
        }
    }

    /// How the AWS SDK is set up: the flags, the run's resolver (with `--dns-server`) and
    /// the `AWS_CA_BUNDLE` contents.
    pub fn sdk_options(
        &self,
        dns: Option<crate::probes::net::SharedResolver>,
        ca_bundle: Option<Vec<u8>>,
        proxy: ProxySettings,
        http: Option<reqwest::Client>,
    ) -> SdkOptions {
        SdkOptions {
            region: self.region.clone(),
            profile: self.profile.clone(),
            timeout: self.timeout,
            role_arn: self.role_arn.clone(),
            dns,
            ca_bundle,
            proxy,
            http,
        }
    }
}

fn first_line(text: &str) -> String {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("bad usage")
        .trim_start_matches("error: ")
        .to_string()
}

fn usage_error(msg: &str) -> i32 {
    eprintln!("ecr-doctor: {msg} (see --help)");
    2
}

/// Parses flags; `Err(code)` when the process should exit with that code now.
pub fn parse(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Cli, i32> {
    match Cli::try_parse_from(args) {
        Ok(cli) => Ok(cli),
        Err(e) => match e.kind() {
            clap::error::ErrorKind::DisplayHelp
            | clap::error::ErrorKind::DisplayVersion
            | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                let _ = e.print();
                Err(0)
            }
            // clap quotes the value raw: quote it on one line, escaped, with our reason
            clap::error::ErrorKind::ValueValidation => {
                use clap::error::ContextKind;
                let arg = e.get(ContextKind::InvalidArg).map(|v| v.to_string());
                let value = e.get(ContextKind::InvalidValue).map(|v| v.to_string());
                let why = std::error::Error::source(&e).map(|s| s.to_string());
                match (arg, value, why) {
                    (Some(arg), Some(value), Some(why)) => Err(usage_error(&format!(
                        "invalid value '{}' for '{arg}': {}",
                        validate::shown(&value),
                        why.replace(['\n', '\r'], " ")
                    ))),
                    _ => Err(usage_error(&first_line(&e.to_string()))),
                }
            }
            // a value outside a fixed list: name the list on the same line
            clap::error::ErrorKind::InvalidValue => {
                use clap::error::{ContextKind, ContextValue};
                let valid = match e.get(ContextKind::ValidValue) {
                    Some(ContextValue::Strings(v)) => v.join(", "),
                    _ => String::new(),
                };
                let line = first_line(&e.to_string());
                if valid.is_empty() {
                    Err(usage_error(&line))
                } else {
                    Err(usage_error(&format!("{line}; possible values: {valid}")))
                }
            }
            _ => {
                let text = e.to_string();
                let mut lines = text.lines().filter(|l| !l.trim().is_empty());
                let mut line = lines
                    .next()
                    .unwrap_or("bad usage")
                    .trim_start_matches("error: ")
                    .to_string();
                // "the following required arguments were not provided:" names them below
                if line.ends_with(':') {
                    if let Some(next) = lines.next() {
                        line = format!("{line} {}", next.trim());
                    }
                }
                Err(usage_error(&line))
            }
        },
    }
}

/// Region and registry must agree; the registry's (or image's) region is used when no
/// region is given.
fn reconcile(cli: &mut Cli) -> Result<(), String> {
    if let (Some(image_reg), Some(reg)) = (
        cli.image.as_ref().and_then(|i| i.registry.clone()),
        &cli.registry,
    ) {
        if &image_reg != reg {
            return Err(format!(
                "--image names registry {image_reg} but --registry is {reg}"
            ));
        }
    }
    let registry = cli
        .registry
        .clone()
        .or_else(|| cli.image.as_ref().and_then(|i| i.registry.clone()));
    if let Some(reg) = registry {
        if crate::aws::is_public_registry(&reg) {
            // ECR Public: tokens come from us-east-1 whatever --region says, so any region
            // goes; without one, the token's region is the natural default
            if cli.region.is_none() {
                cli.region = Some(crate::aws::ECR_PUBLIC_TOKEN_REGION.to_string());
            }
            return Ok(());
        }
        let parsed = crate::aws::parse_registry_host(&reg).ok_or("bad registry")?;
        match &cli.region {
            Some(r) if *r != parsed.region => {
                return Err(format!(
                    "--region {r} does not match the registry's region {} ({reg}); ECR tokens are bound to one region",
                    parsed.region
                ))
            }
            None => cli.region = Some(parsed.region),
            _ => {}
        }
    }
    Ok(())
}

/// Colour on a stream that is (`terminal`) or is not a terminal.
fn use_color(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            terminal
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    }
}

/// The man page or a completion script, generated from the flags defined here.
pub fn generate(what: Generate, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut cmd = Cli::command();
    let name = cmd.get_name().to_string();
    match what {
        Generate::Man => clap_mangen::Man::new(cmd).render(out),
        Generate::CompleteBash => {
            clap_complete::generate(clap_complete::Shell::Bash, &mut cmd, name, out);
            Ok(())
        }
        Generate::CompleteZsh => {
            clap_complete::generate(clap_complete::Shell::Zsh, &mut cmd, name, out);
            Ok(())
        }
        Generate::CompleteFish => {
            clap_complete::generate(clap_complete::Shell::Fish, &mut cmd, name, out);
            Ok(())
        }
    }
}

fn list_checks(catalog: &Catalog, output: Output) -> String {
    match output {
        Output::Json => render::json::render_catalog(catalog),
        _ => {
            let mut out = String::new();
            for c in &catalog.checks {
                let deps = if c.depends_on.is_empty() {
                    String::new()
                } else {
                    format!("  (needs {})", c.depends_on.join(", "))
                };
                out.push_str(&format!("{:<22} {}{deps}\n", c.id, c.title));
            }
            out
        }
    }
}

pub fn main() -> i32 {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("ecr-doctor: internal error: {info}");
    }));
    let mut cli = match parse(std::env::args_os()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Some(Command::Summarize(args)) = &cli.command {
        return crate::summarize::main(args);
    }
    if let Some(what) = cli.generate {
        return match generate(what, &mut std::io::stdout()) {
            Ok(()) => 0,
            // `| head`: the reader had enough
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
            Err(e) => {
                eprintln!("ecr-doctor: cannot write: {e}");
                1
            }
        };
    }
    let catalog = Arc::new(Catalog::embedded());
    if let Some(query) = &cli.explain {
        return match crate::explain::explain(&catalog, query) {
            Ok(page) => {
                print!("{page}");
                0
            }
            Err(e) => usage_error(&format!("--explain: {e}")),
        };
    }
    if cli.list_checks {
        print!("{}", list_checks(&catalog, cli.output));
        return 0;
    }
    let selection = match engine::select(&catalog, &cli.only, &cli.skip) {
        Ok(s) => s,
        Err(e) => return usage_error(&e),
    };
    // --symptom: what the pasted text names fills what the flags leave open
    let pasted = match cli.symptom.clone() {
        Some(text) => {
            // `--symptom -`: the error read from stdin (bounded), for pastes that quoting mangles
            let text = if text == "-" {
                use std::io::Read;
                let mut buf = Vec::new();
                let limit = crate::symptom::MAX_BYTES as u64 + 1;
                if let Err(e) = std::io::stdin().take(limit).read_to_end(&mut buf) {
                    return usage_error(&format!("--symptom -: cannot read stdin: {e}"));
                }
                String::from_utf8_lossy(&buf).into_owned()
            } else {
                text
            };
            if let Err(e) = crate::symptom::check(&text) {
                return usage_error(&e);
            }
            let region = cli.region.clone();
            Some(crate::symptom::take(
                &text,
                &mut cli.image,
                &mut cli.registry,
                region.as_deref(),
            ))
        }
        None => None,
    };
    if let Err(e) = reconcile(&mut cli) {
        return usage_error(&e);
    }
    let ca_bundle = match std::env::var("AWS_CA_BUNDLE")
        .ok()
        .filter(|p| !p.is_empty())
    {
        Some(path) => match std::fs::read(&path) {
            Ok(pem) => Some(pem),
            Err(e) => return usage_error(&format!("AWS_CA_BUNDLE={path} cannot be read: {e}")),
        },
        None => None,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ecr-doctor: cannot start: {e}");
            return 1;
        }
    };
    let code = runtime.block_on(run(cli, catalog, selection, ca_bundle, pasted));
    runtime.shutdown_timeout(Duration::from_millis(200));
    code
}

async fn run(
    cli: Cli,
    catalog: Arc<Catalog>,
    selection: engine::Selection,
    ca_bundle: Option<Vec<u8>>,
    pasted: Option<crate::symptom::Pasted>,
) -> i32 {
    let started_at = SystemTime::now();
    let t0 = Instant::now();
    let env = Arc::new(ProcessEnv);
    // one proxy decision for every connection of the run and for env.proxy
    let proxy = ProxySettings::from_env(env.as_ref());
    let net = match crate::probes::net::SystemNet::new(
        cli.dns_server,
        cli.timeout,
        ca_bundle.as_deref(),
        proxy.clone(),
    ) {
        Ok(n) => n,
        Err(e) => return usage_error(&e),
    };
    let probe = match SdkProbe::load(cli.sdk_options(
        net.sdk_resolver(),
        ca_bundle,
        proxy,
        Some(net.http_client()),
    ))
    .await
    {
        Ok(p) => p,
        Err(e) => return usage_error(&e),
    };
    let region = crate::probes::AwsProbe::region(&probe).to_string();
    // live progress on a terminal, for the table only; it shows itself after QUIET_FOR
    let live = (std::io::stderr().is_terminal()
        && cli.output == Output::Table
        && std::env::var("TERM").map_or(true, |t| t != "dumb"))
    .then(|| {
        let mut v = serde_json::Map::new();
        v.insert("count".into(), selection.run.len().into());
        v.insert("region".into(), region.clone().into());
        v.insert("region_source".into(), probe.region_source.clone().into());
        let header = format!("ecr-doctor: {}", catalog.text("running", &v));
        let width = terminal_size::terminal_size_of(std::io::stderr())
            .map(|(w, _)| w.0 as usize)
            .filter(|w| *w > 0)
            .or_else(|| std::env::var("COLUMNS").ok()?.parse().ok())
            .unwrap_or(80);
        render::progress::Live::new(header, &selection.run, width, use_color(cli.color, true))
    });
    let metadata = Arc::new(crate::probes::metadata::MetadataClient::from_env(
        cli.timeout,
    ));
    let ctx = Arc::new(Ctx {
        opts: cli.options(region.clone()),
        aws: Arc::new(probe),
        env,
        metadata: metadata.clone(),
        net: Arc::new(net),
        docker: Arc::new(crate::probes::docker::SystemDocker),
        now: SystemTime::now,
        board: Board::default(),
        declared: Ctx::declarations(&catalog),
    });
    let engine = Engine::new(
        catalog.clone(),
        registrations(),
        crate::budget::Budget::new(cli.timeout),
    );
    let (progress, display) = match live {
        Some(live) => {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            let show = render::progress::show(live, rx, std::io::stderr());
            (Some(tx), Some(tokio::spawn(show)))
        }
        None => (None, None),
    };
    let results = engine
        .run_with_progress(ctx.clone(), &selection, progress)
        .await;
    if let Some(display) = display {
        // the channel closed with the run: this erases the status line and returns
        let _ = display.await;
    }
    let vc = ctx.vpc();
    let context = Context {
        region: Some(region),
        account: ctx.identity().map(|i| i.account.clone()),
        registry: ctx.registry(),
        vpc: vc.map(|v| v.vpc_id.clone()).or(cli.vpc.clone()),
        vpc_source: vc.map(|v| v.source.clone()),
        subnet: vc.and_then(|v| v.subnet_id.clone()).or(cli.subnet.clone()),
        availability_zone: vc.and_then(|v| v.az.clone()),
        image: cli.image.as_ref().map(|i| i.to_string()),
        host: crate::host::Host::of_this_machine(metadata.learned()),
    };
    let mut report = Report::build_with_fix(
        &catalog,
        &results,
        context,
        crate::checks::rfc3339(started_at),
        t0.elapsed(),
        cli.fix_format,
    );
    if let Some(p) = &pasted {
        let symptoms = crate::symptom::Symptoms::embedded(&catalog);
        report.symptom = Some(crate::symptom::assess(&symptoms, p, &report));
    }
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(110);
    let text = match cli.output {
        Output::Table => render::table::render(
            &report,
            use_color(cli.color, std::io::stdout().is_terminal()),
            width,
            cli.redact,
        ),
        Output::Json => render::json::render(&report),
        Output::Markdown => render::markdown::render(&report),
    };
    print!("{}", crate::redact::apply(&text, cli.redact));
    report.exit_code(cli.strict)
}

/// For docs and tests: the long help text.
pub fn help_text() -> String {
    Cli::command().render_long_help().to_string()
}

#[cfg(test)]
mod generate_tests {
    use super::*;

    fn generated(what: Generate) -> String {
        let mut out = Vec::new();
        generate(what, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn man_page_and_completions_cover_every_flag() {
        let longs: Vec<String> = Cli::command()
            .get_arguments()
            .filter_map(|a| a.get_long().map(str::to_string))
            .collect();
        assert!(longs.len() > 15, "{longs:?}");
        let man = generated(Generate::Man);
        assert!(man.starts_with(".ie"), "roff");
        assert!(man.contains(".TH ecr-doctor 1"));
        for what in [
            Generate::CompleteBash,
            Generate::CompleteZsh,
            Generate::CompleteFish,
        ] {
            let script = generated(what);
            for long in &longs {
                assert!(script.contains(long.as_str()), "{what:?} lacks --{long}");
            }
        }
        for long in &longs {
            // roff escapes '-' as '\-'
            assert!(
                man.contains(&long.replace('-', "\\-")),
                "man lacks --{long}"
            );
        }
        // value lists complete too
        assert!(generated(Generate::CompleteBash).contains("markdown"));
    }

    #[test]
    fn the_bash_completion_is_valid_bash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ecr-doctor.bash");
        std::fs::write(&path, generated(Generate::CompleteBash)).unwrap();
        let st = std::process::Command::new("bash")
            .arg("-n")
            .arg(&path)
            .status()
            .unwrap();
        assert!(st.success());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Result<Cli, i32> {
        parse(
            std::iter::once("ecr-doctor")
                .chain(args.iter().copied())
                .map(Into::into),
        )
    }

    #[test]
    fn defaults() {
        let c = parse_args(&[]).unwrap();
        assert_eq!(c.timeout, Duration::from_secs(5));
        assert_eq!(c.output, Output::Table);
    }

    #[test]
    fn lists_and_bad_values() {
        let c = parse_args(&[
            "--only",
            "token.get,env.proxy",
            "--security-group",
            "sg-1a2b3c4d",
        ])
        .unwrap();
        assert_eq!(c.only, ["token.get", "env.proxy"]);
        assert_eq!(parse_args(&["--vpc", "vpc_123"]).unwrap_err(), 2);
        assert_eq!(parse_args(&["--timeout", "soon"]).unwrap_err(), 2);
        assert_eq!(parse_args(&["--output", "xml"]).unwrap_err(), 2);
    }

    #[test]
    fn region_follows_the_registry() {
        let mut c =
            parse_args(&["--registry", "123456789012.dkr.ecr.eu-west-1.amazonaws.com"]).unwrap();
        reconcile(&mut c).unwrap();
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
        let mut c = parse_args(&[
            "--region",
            "us-east-1",
            "--registry",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        ])
        .unwrap();
        assert!(reconcile(&mut c).unwrap_err().contains("does not match"));
        let mut c = parse_args(&[
            "--image",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1",
        ])
        .unwrap();
        reconcile(&mut c).unwrap();
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn ecr_public_goes_with_any_region() {
        let mut c = parse_args(&["--region", "eu-west-1", "--registry", "public.ecr.aws"]).unwrap();
        reconcile(&mut c).unwrap();
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
        let mut c = parse_args(&["--image", "public.ecr.aws/nginx/nginx:1.27"]).unwrap();
        reconcile(&mut c).unwrap();
        assert_eq!(c.region.as_deref(), Some("us-east-1"));
    }

    #[test]
    fn options_come_from_the_flags() {
        let c = parse_args(&[
            "--region",
            "eu-west-1",
            "--profile",
            "prod",
            "--registry",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            "--vpc",
            "vpc-0abc1234def567890",
            "--subnet",
            "subnet-0123456789abcdef0",
            "--security-group",
            "sg-0123456789abcdef0",
            "--security-group",
            "sg-1a2b3c4d",
            "--image",
            "team/app:1.4",
            "--platform",
            "linux/arm64",
            "--dns-server",
            "10.0.0.2",
            "--role-arn",
            "arn:aws:iam::123456789012:role/puller",
            "--timeout",
            "750ms",
        ])
        .unwrap();
        let o = c.options("eu-central-1".into());
        assert_eq!(o.region, "eu-central-1", "the run's region, not the flag");
        assert_eq!(
            o.registry.as_deref(),
            Some("123456789012.dkr.ecr.eu-west-1.amazonaws.com")
        );
        assert_eq!(o.vpc.as_deref(), Some("vpc-0abc1234def567890"));
        assert_eq!(o.subnet.as_deref(), Some("subnet-0123456789abcdef0"));
        assert_eq!(o.security_groups, ["sg-0123456789abcdef0", "sg-1a2b3c4d"]);
        assert_eq!(o.image.unwrap().to_string(), "team/app:1.4");
        assert_eq!(o.platform, "linux/arm64");
        assert_eq!(o.dns_server, Some("10.0.0.2:53".parse().unwrap()));
        assert_eq!(
            o.role_arn.as_deref(),
            Some("arn:aws:iam::123456789012:role/puller")
        );
        assert_eq!(o.timeout, Duration::from_millis(750));
        let s = c.sdk_options(None, Some(b"pem".to_vec()), ProxySettings::default(), None);
        assert_eq!(s.region.as_deref(), Some("eu-west-1"));
        assert_eq!(s.profile.as_deref(), Some("prod"));
        assert_eq!(s.timeout, Duration::from_millis(750));
        assert_eq!(s.role_arn, o.role_arn);
        assert!(s.dns.is_none());
        assert_eq!(s.ca_bundle.as_deref(), Some(&b"pem"[..]));
        // defaults
        let d = parse_args(&[]).unwrap();
        let o = d.options("us-east-1".into());
        assert_eq!(o.platform, "linux/amd64");
        assert_eq!(o.timeout, Duration::from_secs(5));
        assert!(o.registry.is_none() && o.image.is_none() && o.security_groups.is_empty());
        let s = d.sdk_options(None, None, ProxySettings::default(), None);
        assert!(s.region.is_none() && s.profile.is_none() && s.role_arn.is_none());
    }

    #[test]
    fn help_teaches() {
        let h = help_text();
        for s in ["--vpc", "--output", "Exit status", "Examples", "read-only"] {
            assert!(h.contains(s), "{s}");
        }
    }
}
