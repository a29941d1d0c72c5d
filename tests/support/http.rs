//! The small HTTP/1.1 server under the test servers (the identity provider
//! and the ARM contract server): hyper on a runtime of its own, one task per
//! connection, each request answered by a plain function.
//!
//! Not tiny_http: its connection thread pool can lose a wakeup when more
//! than four connections open at once (a task is queued for a thread that
//! was already woken), and with keep-alive connections holding every thread
//! the queued connection waits until the client gives up. topicform's ARM
//! writes open eight at once, so one request in a burst sat for the full
//! 30 s request timeout before the retry got through (measured in
//! `cargo bench --bench eventhubs`, on the code before and after the apply
//! engine alike).

use std::convert::Infallible;
use std::sync::Arc;
use std::thread::JoinHandle;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;

/// One request, read whole.
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One answer.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    /// A JSON answer.
    pub fn json(status: u16, body: String) -> Response {
        Response { status, headers: vec![("Content-Type".into(), "application/json; charset=utf-8".into())], body }
    }
}

type Handler = Arc<dyn Fn(Request) -> Response + Send + Sync>;

/// A server on 127.0.0.1 (a free port); stops when dropped.
pub struct HttpServer {
    pub port: u16,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Binds a free port and serves it with the handler `make` builds for
    /// that port (servers whose answers name their own URL need it).
    pub fn start<H>(what: &str, make: impl FnOnce(u16) -> H) -> HttpServer
    where
        H: Fn(Request) -> Response + Send + Sync + 'static,
    {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind the {what}: {e}"));
        listener.set_nonblocking(true).expect("a non-blocking listener");
        let port = listener.local_addr().expect("a local address").port();
        let handler: Handler = Arc::new(make(port));
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("test {what}"))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("a runtime for the test server");
                runtime.block_on(serve(listener, handler, stopped));
                runtime.shutdown_background();
            })
            .expect("a thread for the test server");
        HttpServer { port, stop: Some(stop), thread: Some(thread) }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(listener: std::net::TcpListener, handler: Handler, mut stopped: oneshot::Receiver<()>) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
    loop {
        let stream = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| answer(handler.clone(), request));
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

async fn answer(
    handler: Handler,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let request = Request {
        method: parts.method.as_str().to_owned(),
        url: parts.uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "/".into()),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    // Handlers lock the servers' state: off the runtime's workers.
    let reply = tokio::task::spawn_blocking(move || handler(request)).await.unwrap_or_else(|_| Response {
        status: 500,
        headers: vec![],
        body: "the test server's handler panicked".into(),
    });
    let mut response = hyper::Response::builder().status(reply.status);
    for (k, v) in &reply.headers {
        response = response.header(k.as_str(), v.as_str());
    }
    Ok(response.body(Full::new(Bytes::from(reply.body))).expect("a valid test response"))
}
