//! A tiny blocking HTTP/1.1 client over `TcpStream` for the sandbox tests
//! (no extra dev-dependencies).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One request with `Connection: close`.
pub fn request(base: &str, method: &str, path: &str, key: Option<&str>, body: Option<&str>) -> Resp {
    let host = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(host).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nAccept: application/json\r\n");
    if let Some(k) = key {
        req.push_str(&format!("Authorization: Bearer {k}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", b.len()));
    } else if method == "POST" {
        req.push_str("Content-Length: 0\r\n");
    }
    req.push_str("\r\n");
    if let Some(b) = body {
        req.push_str(b);
    }
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
        .collect();
    if headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked")) {
        body = dechunk(&body);
    }
    Resp { status, headers, body }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(p) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(std::str::from_utf8(&b[..p]).unwrap().split(';').next().unwrap().trim(), 16).unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&b[p + 2..p + 2 + n]);
        b = &b[p + 2 + n + 2..];
    }
    out
}

/// Convenience wrapper bound to one sandbox.
pub struct Api<'a> {
    pub base: String,
    pub key: &'a str,
    pub org: String,
    pub dir: String,
}

impl<'a> Api<'a> {
    pub fn new(sb: &'a atlassian_sandbox::Sandbox) -> Self {
        Api { base: sb.base_url(), key: sb.api_key(), org: sb.org_id(), dir: sb.directory_id() }
    }
    pub fn get(&self, path: &str) -> Resp {
        request(&self.base, "GET", path, Some(self.key), None)
    }
    pub fn post(&self, path: &str, body: &Value) -> Resp {
        request(&self.base, "POST", path, Some(self.key), Some(&body.to_string()))
    }
    pub fn search(&self, body: &Value) -> Resp {
        self.post(&format!("/admin/v2/orgs/{}/directories/-/users/search", self.org), body)
    }
    pub fn workspaces(&self, body: &Value) -> Resp {
        self.post(&format!("/admin/v2/orgs/{}/workspaces", self.org), body)
    }
    pub fn last_active(&self, account_id: &str, cursor: Option<&str>) -> Resp {
        let mut p = format!("/admin/v1/orgs/{}/directory/users/{}/last-active-dates", self.org, account_id);
        if let Some(c) = cursor {
            p.push_str(&format!("?cursor={c}"));
        }
        self.get(&p)
    }
    /// Walk `GET /v1/orgs/{orgId}/users` by its `links.next` URLs; returns `(path, page)` pairs.
    pub fn managed_pages(&self) -> Vec<(String, Value)> {
        let mut path = format!("/admin/v1/orgs/{}/users", self.org);
        let mut out = Vec::new();
        loop {
            let r = self.get(&path);
            assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
            let page = r.json();
            let next = page["links"].get("next").and_then(|n| n.as_str()).map(str::to_owned);
            out.push((path, page));
            let Some(next) = next else { break };
            let rest = next.strip_prefix(&self.base).unwrap_or_else(|| panic!("links.next leaves the sandbox: {next}"));
            path = rest.to_string();
            assert!(out.len() < 100_000, "pagination does not terminate");
        }
        out
    }

    /// Walk the whole users search; returns every user object.
    pub fn search_all(&self, mut body: Value) -> Vec<Value> {
        let mut out = Vec::new();
        let mut guard = 0;
        loop {
            let r = self.search(&body);
            assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
            let j = r.json();
            out.extend(j["data"].as_array().unwrap().iter().cloned());
            match j["links"].get("next").and_then(|n| n.as_str()) {
                Some(n) => body["cursor"] = Value::String(n.to_string()),
                None => break,
            }
            guard += 1;
            assert!(guard < 100_000, "pagination does not terminate");
        }
        out
    }
}

/// Assert an application error body with this status and code.
pub fn assert_app_error(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    let j = r.json();
    let e = &j["errors"][0];
    assert_eq!(e["code"], code, "{j}");
    assert_eq!(e["status"], status.to_string());
    assert!(e["id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(e["title"].is_string() && e["detail"].is_string());
}

/// Starts the sandbox binary with `args` (and `--exit-on-stdin-eof`: dropping the child's
/// stdin stops it); returns the child and its announced JSON line.
pub fn spawn_cli(args: &[&str]) -> (std::process::Child, Value) {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_atlassian-sandbox"))
        .args(args)
        .arg("--exit-on-stdin-eof")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sandbox");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    let info: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    (child, info)
}

/// The binary's `--help` text.
pub fn help_text() -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_atlassian-sandbox")).arg("--help").output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}
