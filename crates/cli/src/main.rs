//! `liaison`: the command line of a liaison node. Thin: parse arguments, call the release
//! pipeline, print for people or as JSON.

mod commands;
mod curation;
mod database;
mod demo;
mod hold;
mod ledger;
mod log;
mod matching;
mod operator;
mod output;
mod remote;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::output::Format;

/// mimalloc rather than the C library's allocator: it hands memory freed after a large job
/// (a view computed whole, a parsed leak) back to the system, where glibc's kept a server at
/// its high-water mark, and is faster on the many small allocations of parsing JSON
/// (BENCHMARKS.md §10 and §14).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// An intelligence exchange for partners who do not trust each other.
#[derive(Parser, Debug)]
#[command(name = "liaison", version, about, max_term_width = 100)]
struct Cli {
    /// The node's directory (its embedded store lives there).
    #[arg(long, global = true, env = "LIAISON_HOME")]
    home: Option<PathBuf>,
    /// Output for people (`human`) or tools (`json`).
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// A file holding the PostgreSQL password (its first line). The password itself is read
    /// from `LIAISON_DATABASE_PASSWORD` when set, and is never taken from the command line.
    #[arg(
        long,
        global = true,
        env = "LIAISON_DATABASE_PASSWORD_FILE",
        value_name = "FILE"
    )]
    database_password_file: Option<PathBuf>,
    /// More log output (repeat for more); logs go to stderr.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a node for a party (an ISO 3166 trigraph, e.g. `USA`).
    Init {
        /// The party that runs this node.
        #[arg(long)]
        party: String,
        /// The store: a PostgreSQL URL without a password (`postgres://user@host/db`), or
        /// the path of an SQLite file; default: `node.db` in the home. Recorded in the
        /// home's `store.toml`.
        #[arg(long, env = "LIAISON_DATABASE_URL", value_name = "URL|PATH")]
        database: Option<String>,
    },
    /// Move the node to another store (SQLite to PostgreSQL or back): copies everything,
    /// checks the copy (log root and size, objects, views, decisions, ledger, every table)
    /// and switches the node to it only when every check holds. Stop `serve` first.
    Migrate {
        /// The new store: a PostgreSQL URL without a password, `sqlite` (`node.db` in the
        /// home), or the path of an SQLite file. It must be empty.
        #[arg(long, value_name = "URL|sqlite|PATH")]
        to: String,
    },
    /// Partners and their agreements.
    #[command(subcommand)]
    Partner(PartnerCmd),
    /// The people who use the web console (`serve --console`).
    #[command(subcommand)]
    Operator(OperatorCmd),
    /// Show or replace a partner's agreement.
    #[command(subcommand)]
    Agreement(AgreementCmd),
    /// Take in STIX 2.1 files (bundles or single objects). A file that does not parse is
    /// refused whole; objects the trust boundary refuses are named and the rest is stored.
    Ingest {
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Label for objects that carry none, as a banner line, e.g. "SECRET//REL TO USA, GBR".
        #[arg(long)]
        label: Option<String>,
        /// Originator of that label (default: this node's party).
        #[arg(long, requires = "label")]
        originator: Option<String>,
        /// Who the files came from (a partner's party), if not from this node.
        #[arg(long)]
        from: Option<String>,
        /// Objects written per transaction: every file is checked whole before anything is
        /// written, then written in batches, each stored whole or not at all. Default: 10,000,
        /// and a hundredth of what the store holds past a million, up to 100,000.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        batch: Option<u64>,
    },
    /// What the trust boundary refused (versions of others' objects, redefined markings,
    /// labels in our name), with who sent it.
    Refused {
        /// Only what this party sent (`local` for our own ingest).
        #[arg(long)]
        from: Option<String>,
        /// At most this many, oldest first.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// Originators' consents to onward release.
    #[command(subcommand)]
    Consent(ConsentCmd),
    /// A release officer's holds: withhold an object (and what derives from it) from a
    /// partner until the hold is lifted. A hold only ever withholds more.
    #[command(subcommand)]
    Hold(HoldCmd),
    /// What a partner would receive.
    #[command(subcommand)]
    Release(ReleaseCmd),
    /// Why an object gets its decision: the decision and the chain of labels behind it.
    Explain {
        /// The object's STIX id.
        id: String,
        /// The partner.
        #[arg(long)]
        to: String,
    },
    /// How much a held object is worth and why: its Admiralty grading, the independent
    /// sources of each claim it makes (with the reason each other item is not one), circular
    /// reporting, and its partner's track record.
    Assess {
        /// The object's STIX id.
        id: String,
    },
    /// Grade (or re-grade) a held object as an analyst: a STIX `opinion` of ours citing it,
    /// with the Admiralty grading, kept under our label (it goes to a partner only if the
    /// policy releases it like anything else).
    Grade {
        /// The object's STIX id.
        id: String,
        /// Admiralty grading: source reliability A-F and information credibility 1-6, e.g. `B2`.
        #[arg(long)]
        grading: String,
        /// agree, disagree, neutral, strongly-agree or strongly-disagree.
        #[arg(long, default_value = "neutral")]
        opinion: String,
        /// Why.
        #[arg(long)]
        explanation: Option<String>,
        /// The opinion's label (default: kept at home).
        #[arg(long, default_value = "UNCLASSIFIED//NOFORN")]
        label: String,
    },
    /// Circular reporting: items from partners that are our own reporting echoed back, or
    /// items we already hold from their true source, with the evidence.
    Echoes,
    /// Where a partner's characterisation of threat actors, identities and intrusion sets
    /// diverges from every independent source's and ours.
    Framing {
        /// The partner.
        #[arg(long)]
        partner: String,
    },
    /// Trace a leaked copy (a bundle, one object, a fragment, or text copied out of one) to
    /// the partner it was delivered to.
    Trace {
        /// The leaked text (`-` for standard input).
        file: PathBuf,
        /// Innocent codewords drawn for each accused recipient's p-value.
        #[arg(long, default_value_t = 1000)]
        trials: u32,
    },
    /// Serve TAXII 2.1 to partners (HTTPS; each partner sees only what the policy releases to it).
    Serve {
        /// Address to listen on (port 0 picks a free one; the address is printed).
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: std::net::SocketAddr,
        /// Certificate (PEM). Without one, a self-signed certificate is made on first start.
        #[arg(long, requires = "key")]
        cert: Option<PathBuf>,
        /// Private key (PEM) of `--cert`.
        #[arg(long, requires = "cert")]
        key: Option<PathBuf>,
        /// Names (DNS or IP) for the self-signed certificate (default: localhost, 127.0.0.1).
        #[arg(long = "name")]
        names: Vec<String>,
        /// Serve plain HTTP: local testing only.
        #[arg(long)]
        insecure_http: bool,
        /// The region (ISO 3166 alpha-2) in which phone numbers without a `+` country code in
        /// our holdings are read for private matching; without it they cannot match.
        #[arg(long, env = "LIAISON_REGION")]
        region: Option<String>,
        /// Serve `/metrics` (Prometheus) and `/health` for operators on this address, plain
        /// HTTP, apart from the partners' port (`--metrics` alone: 127.0.0.1:9464). Without
        /// it no metrics are served.
        #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:9464")]
        metrics: Option<std::net::SocketAddr>,
        /// Serve the operators' web console on this address (`off`: not at all). On loopback
        /// it is plain HTTP; anywhere else it is HTTPS with the partners' certificate.
        #[arg(long, value_name = "ADDR|off", default_value = "127.0.0.1:8080")]
        console: String,
    },
    /// Fetch what a partner releases to us (TAXII 2.1), from where the last pull stopped.
    Pull {
        /// The partner.
        partner: String,
        #[command(flatten)]
        reach: Reach,
        /// Objects per page.
        #[arg(long, default_value_t = 500)]
        limit: usize,
        /// Fetch everything again, not only what was added since the last pull.
        #[arg(long)]
        from_start: bool,
        /// Pull from a partner whose log key is not registered: its log is then not checked
        /// (no inclusion proofs, no cosignature, its terms not countersigned). Without a
        /// registered key a pull is refused unless this is given; a registered key is always
        /// used.
        #[arg(long)]
        without_log_check: bool,
    },
    /// Private matching: ask a partner which of our selectors it holds, without showing it
    /// the list (`match --partner P --selectors FILE`), or see partners' budgets (`match
    /// budgets`) and what they asked (`match history`).
    #[command(args_conflicts_with_subcommands = true)]
    Match {
        #[command(subcommand)]
        cmd: Option<MatchCmd>,
        /// The partner to ask.
        #[arg(long, required = true)]
        partner: Option<String>,
        /// Our selectors, one per line: `kind,value` (kinds: phone, email, document, wallet,
        /// person, organisation) or a bare value (an `@` is an e-mail, digits a phone
        /// number, anything else a person's name).
        #[arg(long, required = true)]
        selectors: Option<PathBuf>,
        /// The region (ISO 3166 alpha-2) phone numbers without a `+` country code are read
        /// in; without it such numbers are not asked (and say so).
        #[arg(long, env = "LIAISON_REGION")]
        region: Option<String>,
        #[command(flatten)]
        reach: Reach,
    },
    /// The reciprocity ledger: what each side gave and got, and the balance over time.
    Ledger {
        /// Only this partner.
        #[arg(long)]
        partner: Option<String>,
    },
    /// The node's transparency log.
    #[command(subcommand)]
    Log(LogCmd),
    /// Walk through a small counter-terrorism exchange in a temporary node.
    Demo {
        /// Keep the demo node in this directory instead of a temporary one.
        #[arg(long)]
        keep: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum PartnerCmd {
    /// Add (or update) a partner with its agreement file (TOML).
    Add {
        /// The partner's party, e.g. `RUS`.
        party: String,
        /// The agreement file.
        #[arg(long)]
        agreement: PathBuf,
    },
    /// List the partners and their agreements.
    List,
    /// Register the key a partner cosigns our checkpoints with (its `liaison log key`).
    Cosigner {
        /// The partner.
        party: String,
        /// Its cosigner key (a C2SP vkey of type 0x04).
        vkey: String,
    },
    /// Register the key a partner signs its log's checkpoints with (its `liaison log key`).
    Logkey {
        /// The partner.
        party: String,
        /// Its verifier key (a C2SP signed-note vkey).
        vkey: String,
    },
    /// A partner's track record: how its reporting was graded over time, and how often it
    /// was later corroborated by an independent source or contradicted by us.
    Record {
        /// The partner.
        party: String,
        /// month, quarter or year.
        #[arg(long, default_value = "month")]
        period: String,
    },
    /// Set the secret a partner authenticates with, at least 12 characters (read from
    /// standard input or an environment variable, never from the command line; only its
    /// Argon2 hash is kept).
    Secret {
        /// The partner.
        party: String,
        /// Read the secret from this environment variable instead of standard input.
        #[arg(long)]
        from_env: Option<String>,
    },
}

/// How to reach a partner's server (`pull`, `match`).
#[derive(clap::Args, Debug)]
struct Reach {
    /// The partner's server, e.g. `https://10.0.0.5:8443/` (remembered for next time by
    /// `pull`; default: where the last pull reached it).
    #[arg(long)]
    url: Option<String>,
    /// SHA-256 fingerprint of the partner's certificate, as its `liaison serve` printed it.
    #[arg(long)]
    fingerprint: Option<String>,
    /// Environment variable holding the secret the partner gave us.
    #[arg(long, default_value = "LIAISON_PULL_SECRET")]
    secret_env: String,
}

#[derive(Subcommand, Debug)]
enum OperatorCmd {
    /// Add an operator of the console, or give one a new role and password. The password
    /// (12 characters at least) is read from standard input or an environment variable,
    /// never from the command line; only its Argon2 hash is kept.
    Add {
        /// The login name (a-z, 0-9, `.`, `_`, `-`, starting with a letter).
        name: String,
        /// `analyst` (reads) or `officer` (also records consents and holds).
        #[arg(long)]
        role: String,
        /// Read the password from this environment variable instead of standard input.
        #[arg(long)]
        from_env: Option<String>,
    },
    /// The operators and their roles.
    List,
}

#[derive(Subcommand, Debug)]
enum MatchCmd {
    /// As the holder: each partner's matching budget this epoch, what it has spent, and when
    /// it resets.
    Budgets,
    /// As the holder: the sets published to partners and the requests of theirs evaluated,
    /// oldest first, each with its log entry (never which selectors: we never see them).
    History {
        /// Only this partner's.
        #[arg(long)]
        partner: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum LogCmd {
    /// Our log: size, root, the latest checkpoint and the cosignatures on it.
    Show,
    /// Our log verifier key and cosigner key, to give partners.
    Key {
        /// Print only the verifier key (for `liaison partner logkey P "$(...)"`).
        #[arg(long)]
        verifier: bool,
    },
    /// Check that what partners sent us is in their logs and that their checkpoints were
    /// consistent (needs the network, as `pull`).
    Verify {
        /// Only this partner (default: every partner whose log key is registered).
        #[arg(long)]
        partner: Option<String>,
        /// Environment variable holding the secret the partner gave us.
        #[arg(long, default_value = "LIAISON_PULL_SECRET")]
        secret_env: String,
    },
    /// Crash-test harness (not for a real node): appends batches of sample delivery leaves
    /// and prints `ack SIZE ROOT` after each durable append and its signed checkpoint.
    #[command(hide = true)]
    Stress {
        /// Leaves per append.
        #[arg(long, default_value_t = 100)]
        batch: usize,
        /// Stop after this many appends (default: until killed).
        #[arg(long)]
        batches: Option<u64>,
    },
}

#[derive(Subcommand, Debug)]
enum AgreementCmd {
    /// Replace a partner's agreement.
    Set {
        /// The partner.
        party: String,
        /// The agreement file (TOML).
        file: PathBuf,
    },
    /// Show a partner's agreement.
    Show {
        /// The partner.
        party: String,
    },
}

#[derive(Subcommand, Debug)]
enum ConsentCmd {
    /// Sign this node's consent to release its object (and what derives from it) to a party:
    /// a signed note for the nodes that hold the object (`consent add --file`, `consent send`).
    Sign {
        /// The object consented for (ours).
        #[arg(long)]
        object: String,
        /// The party it may go to.
        #[arg(long)]
        to: String,
        /// Write the signed note here (default: print it).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Also send it to this partner's liaison API (as set up by `liaison pull`).
        #[arg(long)]
        send: Option<String>,
        /// Environment variable holding the secret that partner gave us.
        #[arg(long, default_value = "LIAISON_PULL_SECRET")]
        secret_env: String,
    },
    /// Accept an originator's signed consent (`--file`), or record our own (`--object --to
    /// --by OURS`, signed with our key). A consent by another party must be signed by it.
    Add {
        /// A signed consent note (from `liaison consent sign` on the originator's node).
        #[arg(long, conflicts_with_all = ["object", "to", "by"], required_unless_present_all = ["object", "to", "by"])]
        file: Option<PathBuf>,
        /// The object consented for.
        #[arg(long, requires_all = ["to", "by"])]
        object: Option<String>,
        /// The party it may go to.
        #[arg(long, requires_all = ["object", "by"])]
        to: Option<String>,
        /// The originator who consents (only this node's own party without `--file`).
        #[arg(long, requires_all = ["object", "to"])]
        by: Option<String>,
    },
    /// Send a signed consent (by this node) to a partner's liaison API.
    Send {
        /// The partner.
        partner: String,
        /// The signed consent note.
        #[arg(long)]
        file: PathBuf,
        /// Environment variable holding the secret the partner gave us.
        #[arg(long, default_value = "LIAISON_PULL_SECRET")]
        secret_env: String,
    },
    /// List consents on record.
    List,
}

#[derive(Subcommand, Debug)]
enum HoldCmd {
    /// Hold an object (and what derives from it) from a partner: the policy withholds it
    /// with `held_by_officer`, naming the officer and the reason, until the hold is lifted.
    Add {
        /// The object held.
        #[arg(long)]
        object: String,
        /// The partner it is held from.
        #[arg(long)]
        to: String,
        /// Why (required; one line, at most 500 characters).
        #[arg(long)]
        reason: String,
        /// The officer who holds it (an operator's name; `cli` when not given).
        #[arg(long)]
        by: Option<String>,
    },
    /// Lift a hold: the policy then decides as before.
    Lift {
        /// The object held.
        #[arg(long)]
        object: String,
        /// The partner it is held from.
        #[arg(long)]
        to: String,
    },
    /// The holds standing, with who placed each, when and why.
    List {
        /// Only those for this partner.
        #[arg(long)]
        to: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum ReleaseCmd {
    /// The decision on every object for a partner, with reasons and cuts.
    Preview {
        /// The partner.
        #[arg(long)]
        to: String,
    },
    /// Write the bundle a partner would receive, cut for it.
    Export {
        /// The partner.
        #[arg(long)]
        to: String,
        /// Where to write the bundle (`-` for standard output).
        #[arg(short, long)]
        output: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LIAISON_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", output::error_line(&e));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let home = commands::home(cli.home)?;
    let fmt = cli.format;
    database::set_password_file(cli.database_password_file);
    match cli.command {
        Command::Init { party, database } => {
            commands::init(&home, &party, database.as_deref(), fmt)
        }
        Command::Migrate { to } => database::migrate(&home, &to, fmt),
        Command::Partner(PartnerCmd::Add { party, agreement }) => {
            commands::partner_add(&home, &party, &agreement, fmt)
        }
        Command::Partner(PartnerCmd::List) => commands::partner_list(&home, fmt),
        Command::Partner(PartnerCmd::Record { party, period }) => {
            curation::record(&home, &party, &period, fmt)
        }
        Command::Operator(OperatorCmd::Add {
            name,
            role,
            from_env,
        }) => operator::add(&home, &name, &role, from_env.as_deref(), fmt),
        Command::Operator(OperatorCmd::List) => operator::list(&home, fmt),
        Command::Partner(PartnerCmd::Secret { party, from_env }) => {
            commands::partner_secret(&home, &party, from_env.as_deref(), fmt)
        }
        Command::Partner(PartnerCmd::Cosigner { party, vkey }) => {
            log::partner_key(&home, &party, log::COSIGNER, &vkey, fmt)
        }
        Command::Partner(PartnerCmd::Logkey { party, vkey }) => {
            log::partner_key(&home, &party, log::LOGKEY, &vkey, fmt)
        }
        Command::Log(LogCmd::Show) => log::show(&home, fmt),
        Command::Log(LogCmd::Key { verifier }) => log::key(&home, verifier, fmt),
        Command::Log(LogCmd::Verify {
            partner,
            secret_env,
        }) => log::verify(&home, partner.as_deref(), &secret_env, fmt),
        Command::Log(LogCmd::Stress { batch, batches }) => {
            commands::scratch_only(&home, "log stress")?;
            log::stress(&home, batch, batches)
        }
        Command::Agreement(AgreementCmd::Set { party, file }) => {
            commands::partner_add(&home, &party, &file, fmt)
        }
        Command::Agreement(AgreementCmd::Show { party }) => {
            commands::agreement_show(&home, &party, fmt)
        }
        Command::Ingest {
            files,
            label,
            originator,
            from,
            batch,
        } => commands::ingest(
            &home,
            &files,
            label.as_deref(),
            originator.as_deref(),
            from.as_deref(),
            batch.map(|b| usize::try_from(b).unwrap_or(usize::MAX)),
            fmt,
        ),
        Command::Consent(ConsentCmd::Sign {
            object,
            to,
            output,
            send,
            secret_env,
        }) => commands::consent_sign(
            &home,
            &object,
            &to,
            output.as_deref(),
            send.as_deref(),
            &secret_env,
            fmt,
        ),
        Command::Consent(ConsentCmd::Add {
            file,
            object,
            to,
            by,
        }) => match (file, object, to, by) {
            (Some(file), _, _, _) => commands::consent_accept(&home, &file, fmt),
            (None, Some(object), Some(to), Some(by)) => {
                commands::consent_add(&home, &object, &to, &by, fmt)
            }
            _ => Err(anyhow::anyhow!(
                "give `--file NOTE`, or `--object ID --to P --by OURS`"
            )),
        },
        Command::Consent(ConsentCmd::Send {
            partner,
            file,
            secret_env,
        }) => commands::consent_send(&home, &partner, &file, &secret_env, fmt),
        Command::Consent(ConsentCmd::List) => commands::consent_list(&home, fmt),
        Command::Hold(HoldCmd::Add {
            object,
            to,
            reason,
            by,
        }) => hold::add(&home, &object, &to, &reason, by.as_deref(), fmt),
        Command::Hold(HoldCmd::Lift { object, to }) => hold::lift(&home, &object, &to, fmt),
        Command::Hold(HoldCmd::List { to }) => hold::list(&home, to.as_deref(), fmt),
        Command::Release(ReleaseCmd::Preview { to }) => commands::preview(&home, &to, fmt),
        Command::Release(ReleaseCmd::Export { to, output }) => {
            commands::export(&home, &to, &output, fmt)
        }
        Command::Explain { id, to } => commands::explain(&home, &id, &to, fmt),
        Command::Assess { id } => curation::assess(&home, &id, fmt),
        Command::Grade {
            id,
            grading,
            opinion,
            explanation,
            label,
        } => curation::grade(
            &home,
            &curation::GradeArgs {
                id: &id,
                grading: &grading,
                opinion: &opinion,
                explanation: explanation.as_deref(),
                label: &label,
            },
            fmt,
        ),
        Command::Echoes => curation::echoes(&home, fmt),
        Command::Framing { partner } => curation::framing(&home, &partner, fmt),
        Command::Trace { file, trials } => commands::trace(&home, &file, trials, fmt),
        Command::Refused { from, limit } => commands::refused(&home, from.as_deref(), limit, fmt),
        Command::Pull {
            partner,
            reach:
                Reach {
                    url,
                    fingerprint,
                    secret_env,
                },
            limit,
            from_start,
            without_log_check,
        } => remote::pull(
            &home,
            &partner,
            url.as_deref(),
            fingerprint.as_deref(),
            &secret_env,
            limit,
            from_start,
            without_log_check,
            fmt,
        ),
        Command::Serve {
            listen,
            cert,
            key,
            names,
            insecure_http,
            metrics,
            region,
            console,
        } => serve::serve(
            &home,
            serve::Listen {
                partners: listen,
                metrics,
                console: serve::console_at(&console)?,
            },
            cert.as_deref(),
            key.as_deref(),
            &names,
            insecure_http,
            region.as_deref(),
            fmt,
        ),
        Command::Match {
            cmd: Some(MatchCmd::Budgets),
            ..
        } => matching::budgets(&home, fmt),
        Command::Match {
            cmd: Some(MatchCmd::History { partner }),
            ..
        } => matching::history(&home, partner.as_deref(), fmt),
        Command::Match {
            cmd: None,
            partner,
            selectors,
            region,
            reach:
                Reach {
                    url,
                    fingerprint,
                    secret_env,
                },
        } => matching::run(
            &home,
            partner.as_deref().unwrap_or_default(),
            &selectors.unwrap_or_default(),
            region.as_deref(),
            &matching::Reach {
                url: url.as_deref(),
                fingerprint: fingerprint.as_deref(),
                secret_env: &secret_env,
            },
            fmt,
        ),
        Command::Ledger { partner } => ledger::ledger(&home, partner.as_deref(), fmt),
        Command::Demo { keep } => demo::run(keep, fmt),
    }
}
