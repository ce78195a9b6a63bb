//! The emulators the local stack runs: Amazon's DynamoDB Local (on Java) and
//! moto's server for SQS and EventBridge; and localstripe, the Stripe
//! emulator the payment tests run against. Each starts on a free port, is
//! tethered to this process, and stops when its handle is dropped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("installing the emulators failed: {0}")]
    Bootstrap(String),
    #[error("{name} could not start: {reason}")]
    Start { name: &'static str, reason: String },
}

/// A running emulator process.
#[derive(Debug)]
pub struct Emulator {
    pub name: &'static str,
    pub port: u16,
    child: Child,
}

impl Emulator {
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // The tether forwards the signal to the emulator and waits for it.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

/// Where bootstrap.sh installed the venv and DynamoDB Local.
#[derive(Debug, Clone)]
pub struct Installed {
    pub venv: PathBuf,
    pub dynamodb_local_jar: PathBuf,
}

/// Runs the idempotent, pinned installer (fast when everything is cached).
pub fn bootstrap(repo: &Path) -> Result<Installed, EmulatorError> {
    let output = Command::new("bash")
        .arg(repo.join("infra/local/scripts/bootstrap.sh"))
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| EmulatorError::Bootstrap(e.to_string()))?;
    if !output.status.success() {
        return Err(EmulatorError::Bootstrap(format!(
            "bootstrap.sh exited with {}",
            output.status
        )));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value = |name: &str| {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name}=")))
            .map(PathBuf::from)
            .ok_or_else(|| EmulatorError::Bootstrap(format!("bootstrap.sh did not print {name}")))
    };
    Ok(Installed {
        venv: value("SHOPFLOW_VENV")?,
        dynamodb_local_jar: value("SHOPFLOW_DYNAMODB_LOCAL_JAR")?,
    })
}

/// A port nobody listens on right now.
pub fn free_port() -> Result<u16, std::io::Error> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn spawn(
    repo: &Path,
    name: &'static str,
    port: u16,
    program: &Path,
    args: &[String],
) -> Result<Emulator, EmulatorError> {
    let start_error = |reason: String| EmulatorError::Start { name, reason };
    let child = Command::new("bash")
        .arg(repo.join("infra/local/scripts/tether.sh"))
        .arg(std::process::id().to_string())
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| start_error(e.to_string()))?;
    let mut emulator = Emulator { name, port, child };
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = emulator.child.try_wait() {
            return Err(start_error(format!("exited with {status}")));
        }
        if Instant::now() > deadline {
            return Err(start_error(format!("port {port} did not open within 60 s")));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(emulator)
}

/// DynamoDB Local, in memory, one database for every credential and region.
/// It has no bind-address option and listens on all interfaces; everything
/// else the stack starts binds 127.0.0.1 only.
pub fn start_dynamodb_local(repo: &Path, installed: &Installed) -> Result<Emulator, EmulatorError> {
    let port = free_port().map_err(|e| EmulatorError::Start {
        name: "DynamoDB Local",
        reason: e.to_string(),
    })?;
    let jar = &installed.dynamodb_local_jar;
    let libs = jar
        .parent()
        .map(|dir| dir.join("DynamoDBLocal_lib"))
        .unwrap_or_default();
    let args = [
        format!("-Djava.library.path={}", libs.display()),
        "-Xmx1g".to_owned(),
        "-jar".to_owned(),
        jar.display().to_string(),
        "-inMemory".to_owned(),
        "-sharedDb".to_owned(),
        "-disableTelemetry".to_owned(),
        "-port".to_owned(),
        port.to_string(),
    ];
    spawn(repo, "DynamoDB Local", port, Path::new("java"), &args)
}

/// moto's server (SQS, EventBridge, S3, SES) bound to 127.0.0.1.
pub fn start_moto(repo: &Path, installed: &Installed) -> Result<Emulator, EmulatorError> {
    let port = free_port().map_err(|e| EmulatorError::Start {
        name: "moto",
        reason: e.to_string(),
    })?;
    let args = [
        "-H".to_owned(),
        "127.0.0.1".to_owned(),
        "-p".to_owned(),
        port.to_string(),
    ];
    spawn(
        repo,
        "moto",
        port,
        &installed.venv.join("bin/moto_server"),
        &args,
    )
}

/// localstripe (a Stripe emulator) on 127.0.0.1, in memory only; see
/// scripts/run_localstripe.py.
pub fn start_localstripe(repo: &Path, installed: &Installed) -> Result<Emulator, EmulatorError> {
    let port = free_port().map_err(|e| EmulatorError::Start {
        name: "localstripe",
        reason: e.to_string(),
    })?;
    let args = [
        repo.join("infra/local/scripts/run_localstripe.py")
            .display()
            .to_string(),
        port.to_string(),
    ];
    spawn(
        repo,
        "localstripe",
        port,
        &installed.venv.join("bin/python"),
        &args,
    )
}

/// Has localstripe post every event to `url`, signed with `secret`, as a
/// Stripe webhook endpoint would be configured in Stripe's dashboard.
pub async fn send_localstripe_webhooks(
    endpoint: &str,
    url: &str,
    secret: &str,
) -> Result<(), EmulatorError> {
    use http_body_util::Full;
    use hyper::body::Bytes;
    let failed = |reason: String| EmulatorError::Start {
        name: "localstripe",
        reason: format!("registering the webhook: {reason}"),
    };
    let body = serde_json::json!({ "url": url, "secret": secret }).to_string();
    let request = hyper::Request::post(format!("{endpoint}/_config/webhooks/shopflow"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| failed(e.to_string()))?;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let response = client
        .request(request)
        .await
        .map_err(|e| failed(e.to_string()))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(failed(format!("answered {}", response.status())))
    }
}
