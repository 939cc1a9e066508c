//! The `portico` command: serve (the default), create an administrator from a shell, rotate
//! the signing key, publish demo APIs, copy a SQLite installation to PostgreSQL, or back up a
//! SQLite database.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use secrecy::SecretString;

use portico::Application;
use portico::config::Settings;

#[derive(Parser)]
#[command(name = "portico", version, about = "Portico API developer portal")]
struct Cli {
    /// The settings file (default: $PORTICO_CONFIG, else ./portico.toml when present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the portal over HTTP (the default).
    Serve,
    /// Create an administrator; the password is read from standard input.
    CreateAdmin {
        #[arg(long)]
        username: String,
    },
    /// Make new active signing keys (the configured algorithm's and the RS256 one kept for ID
    /// tokens); the old public keys stay in the JWKS until the tokens they signed have expired.
    /// A running Portico picks the new keys up within a minute.
    RotateSigningKey,
    /// Publish three demo APIs (Payments, Accounts, FX Rates) with their OpenAPI documents and
    /// tiers, recorded as the first administrator's doing; APIs already there are left alone.
    SeedDemo,
    /// Copy this SQLite installation (PORTICO_DATABASE_URL) into an EMPTY PostgreSQL database:
    /// every table, ids and encrypted values as they are, in one transaction; then print the
    /// rows of each table on both sides. Portico on PostgreSQL needs this installation's
    /// secret key (PORTICO_SECRET_KEY).
    MigrateDatabase {
        /// The PostgreSQL database to fill: postgres://user@host/database (or from
        /// PORTICO_MIGRATE_TO, which keeps a password out of the process list)
        #[arg(
            long,
            value_name = "URL",
            env = "PORTICO_MIGRATE_TO",
            hide_env_values = true
        )]
        to: String,
    },
    /// Write a consistent copy of the SQLite database to a new file while Portico serves, and
    /// the key file beside the database to FILE.key when there is one (on PostgreSQL, use
    /// pg_dump).
    Backup {
        /// The file to create (refused when it exists).
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
}

#[actix_web::main]
async fn main() -> ExitCode {
    portico::telemetry::init();
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("portico: settings: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::CreateAdmin { username } => create_admin(settings, &username).await,
        Command::RotateSigningKey => rotate_signing_key(settings),
        Command::SeedDemo => seed_demo(settings).await,
        Command::MigrateDatabase { to } => migrate_database(&settings, &to),
        Command::Backup { to } => backup(&settings, &to),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("portico: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> Result<(), String> {
    let app = Application::build(settings)
        .await
        .map_err(|e| e.to_string())?;
    app.run_until_stopped().await.map_err(|e| e.to_string())
}

async fn create_admin(settings: Settings, username: &str) -> Result<(), String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let password = SecretString::from(line.trim_end_matches(['\r', '\n']).to_string());
    let pool = portico::db::connect(settings.database.clone()).map_err(|e| e.to_string())?;
    let user = portico::services::accounts::create_admin(&pool, username, &password)
        .await
        .map_err(|e| e.to_string())?;
    println!("Created administrator {}.", user.username);
    Ok(())
}

async fn seed_demo(settings: Settings) -> Result<(), String> {
    use portico::services::demo::{self, Seeded};
    let pool = portico::db::connect(settings.database.clone()).map_err(|e| e.to_string())?;
    portico::services::accounts::ensure_first_admin(&pool, settings.first_admin.as_ref())
        .await
        .map_err(|e| e.to_string())?;
    for outcome in demo::seed(&pool).await.map_err(|e| e.to_string())? {
        match outcome {
            Seeded::Created(api) => println!("Published {api}."),
            Seeded::AlreadyThere(api) => println!("Left {api} as it was (its context is taken)."),
        }
    }
    println!("Open {}/apis to see the catalog.", settings.base_url());
    Ok(())
}

fn rotate_signing_key(settings: Settings) -> Result<(), String> {
    use portico::oauth_server::{MAX_TOKEN_LIFETIME, keys};
    use portico::security::secret_box::SecretBox;
    let pool = portico::db::connect(settings.database.clone()).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let secret_box = SecretBox::new(&settings.secret_key);
    let kids = keys::rotate(
        &mut conn,
        &secret_box,
        settings.signing_algorithm,
        MAX_TOKEN_LIFETIME,
    )
    .map_err(|e| e.to_string())?;
    for (algorithm, kid) in keys::kept_algorithms(settings.signing_algorithm)
        .iter()
        .zip(kids)
    {
        println!("New active {algorithm} signing key: kid {kid}.");
    }
    Ok(())
}

fn migrate_database(settings: &Settings, to: &str) -> Result<(), String> {
    let counts = portico::db::copy::migrate_to_postgres(&settings.database, to)
        .map_err(|e| e.to_string())?;
    print!("{}", portico::db::copy::render_counts(&counts));
    println!(
        "Copied into PostgreSQL. Start Portico there with PORTICO_SECRET_KEY set to this \
         installation's secret key (the secrets are encrypted under it)."
    );
    Ok(())
}

fn backup(settings: &Settings, to: &std::path::Path) -> Result<(), String> {
    portico::db::copy::backup(&settings.database, to).map_err(|e| e.to_string())?;
    println!(
        "Wrote {}. Keep the secret key with it (PORTICO_SECRET_KEY, or the key file beside the \
         database): the secrets in the copy are encrypted under it.",
        to.display()
    );
    Ok(())
}
