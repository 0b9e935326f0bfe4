//! funcrt: a handler that blocks its thread is still timed out at its deadline, and other functions
//! keep answering meanwhile (each instance runs on its own thread). This part runs on the system clock,
//! so it takes about a second.

use std::time::{Duration, Instant};

use funcrt::serde_json::json;
use funcrt::{Code, Context, FunctionConfig, HandlerError, Runtime, Value};

pub(crate) async fn run() -> crate::TourResult {
    println!("== funcrt: a blocking handler cannot stall the host");
    let rt = Runtime::new(stratus_clock::Clock::system());
    rt.create_function(
        "stuck",
        Code::from_fn(|_e: Value, _c: Context| async move {
            std::thread::sleep(Duration::from_millis(1500)); // blocks its thread, never yields
            Ok::<_, HandlerError>(json!("too late"))
        }),
        FunctionConfig::builder()
            .with_timeout(Duration::from_secs(1))
            .build()?,
    )?;
    rt.create_function(
        "quick",
        Code::from_fn(|e: Value, _c: Context| async move { Ok::<_, HandlerError>(e) }),
        FunctionConfig::default(),
    )?;
    let t0 = Instant::now();
    let stuck = tokio::spawn({
        let rt = rt.clone();
        async move { rt.invoke("stuck", json!({})).await }
    });
    let mut worst = Duration::ZERO;
    for i in 0..20 {
        let t = Instant::now();
        rt.invoke("quick", json!(i)).await?;
        worst = worst.max(t.elapsed());
    }
    let r = stuck.await??;
    let fe = r.function_error.clone().ok_or("expected a timeout")?;
    println!(
        "  stuck: {} after {:.2} s (billed {} ms); quick: 20 calls meanwhile, worst {:.2} ms",
        fe.error_type,
        t0.elapsed().as_secs_f64(),
        r.report().map_or(0, |rep| rep.billed_duration_ms),
        worst.as_secs_f64() * 1e3
    );
    println!(
        "  instance threads held: {} (the stuck handler keeps its thread until it returns)",
        rt.instance_threads()
    );
    Ok(())
}
