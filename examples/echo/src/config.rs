//! The echo-basic environment, read the way the upstream backend reads it: the mode variables, the
//! ports with their upstream defaults, the TLS file paths and the identity.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::{Error, Identity};

/// Which server the process runs, chosen by environment variables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// No mode variable: HTTP, h2c and HTTPS echo.
    Http,
    /// `GRPC_ECHO_SERVER` non-empty.
    Grpc,
    /// `TCP_ECHO_SERVER` non-empty.
    Tcp,
    /// `UDP_ECHO_SERVER` non-empty.
    Udp,
    /// `DNS_SERVER` non-empty (ours, for the base `coredns` Deployment): a `whoami`-style responder.
    Dns,
}

/// A port as configured: the text reported in replies and the number bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port {
    /// The variable's value (or the default) exactly as echo-basic reports it (`httpPort`, `tcpport`).
    pub text: String,
    /// The parsed port.
    pub number: u16,
}

/// Paths of the PEM files that make a TLS listener, each with the variable that named it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain (`TLS_SERVER_CERT`).
    pub cert: (&'static str, PathBuf),
    /// Private key (`TLS_SERVER_PRIVKEY` in HTTP mode, `TLS_SERVER_PRIV_KEY` in gRPC and TCP modes).
    pub key: (&'static str, PathBuf),
    /// CA bundle for optional client certificates (`TLS_CLIENT_CACERTS`).
    pub client_ca: Option<(&'static str, PathBuf)>,
}

/// A snapshot of the environment with the accessors each mode needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// The selected mode.
    pub mode: Mode,
    vars: HashMap<String, String>,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Self {
        Self::from_vars(std::env::vars())
    }

    /// Builds a configuration from explicit variables (tests, embedding).
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let vars: HashMap<String, String> = vars.into_iter().collect();
        let set = |k: &str| vars.get(k).is_some_and(|v| !v.is_empty());
        let mode = if set("GRPC_ECHO_SERVER") {
            Mode::Grpc
        } else if set("TCP_ECHO_SERVER") {
            Mode::Tcp
        } else if set("UDP_ECHO_SERVER") {
            Mode::Udp
        } else if set("DNS_SERVER") {
            Mode::Dns
        } else {
            Mode::Http
        };
        Config { mode, vars }
    }

    /// A variable's value; empty counts as unset, as in echo-basic.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Overrides one variable (command-line flags that stand for a variable).
    pub fn set_var(&mut self, name: &str, value: String) {
        self.vars.insert(name.to_string(), value);
    }

    /// The identity variables.
    pub fn identity(&self) -> Identity {
        Identity::from_lookup(|k| self.var(k).map(str::to_string))
    }

    /// A port variable, or its default when unset; a value that is not a port names the variable.
    pub fn port(&self, var: &'static str, default: u16) -> Result<Port, Error> {
        match self.var(var) {
            None => Ok(Port {
                text: default.to_string(),
                number: default,
            }),
            Some(v) => match v.parse::<u16>() {
                Ok(number) => Ok(Port {
                    text: v.to_string(),
                    number,
                }),
                Err(_) => Err(Error::BadEnv {
                    var,
                    value: v.to_string(),
                    problem: "is not a port number (0-65535)",
                }),
            },
        }
    }

    /// The TLS files when both the certificate and the key variable are set.
    pub fn tls_files(&self, key_var: &'static str, with_client_ca: bool) -> Option<TlsFiles> {
        let path = |var: &'static str| self.var(var).map(|p| (var, PathBuf::from(p)));
        Some(TlsFiles {
            cert: path("TLS_SERVER_CERT")?,
            key: path(key_var)?,
            client_ca: if with_client_ca {
                path("TLS_CLIENT_CACERTS")
            } else {
                None
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(vars: &[(&str, &str)]) -> Config {
        Config::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn mode_order_and_empty_values() {
        assert_eq!(cfg(&[]).mode, Mode::Http);
        assert_eq!(cfg(&[("GRPC_ECHO_SERVER", "")]).mode, Mode::Http);
        assert_eq!(
            cfg(&[("UDP_ECHO_SERVER", "1"), ("TCP_ECHO_SERVER", "1")]).mode,
            Mode::Tcp
        );
        assert_eq!(
            cfg(&[("GRPC_ECHO_SERVER", "1"), ("TCP_ECHO_SERVER", "1")]).mode,
            Mode::Grpc
        );
        assert_eq!(cfg(&[("DNS_SERVER", "1")]).mode, Mode::Dns);
    }

    #[test]
    fn ports_default_keep_text_and_name_bad_variable() {
        let c = cfg(&[("HTTP_PORT", "8080"), ("TCP_PORT", "x")]);
        assert_eq!(c.port("HTTP_PORT", 3000).map(|p| p.number).ok(), Some(8080));
        assert_eq!(
            c.port("H2C_PORT", 3001).map(|p| p.text).ok(),
            Some("3001".into())
        );
        let err = c.port("TCP_PORT", 3000).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.starts_with("TCP_PORT: \"x\"")));
    }

    #[test]
    fn tls_files_need_cert_and_key() {
        let c = cfg(&[("TLS_SERVER_CERT", "/c"), ("TLS_SERVER_PRIVKEY", "/k")]);
        assert!(c.tls_files("TLS_SERVER_PRIVKEY", true).is_some());
        assert!(c.tls_files("TLS_SERVER_PRIV_KEY", false).is_none());
    }
}
