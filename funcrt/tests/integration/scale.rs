//! Many functions (issue 18): the table stays right as it grows and shrinks, pages list in name order,
//! and reservations stay exact with the O(1) check.

use crate::common::*;
use funcrt::{FunctionConfig, ListOptions};
use serde_json::json;

/// Follows <https://docs.aws.amazon.com/lambda/latest/api/API_ListFunctions.html>: up to `MaxItems`
/// functions per page, a `NextMarker` to continue from, every function listed once.
#[tokio::test]
async fn thousands_of_functions_create_delete_and_list_in_order() {
    let (_clock, rt) = manual_runtime();
    let n = 5_000;
    for i in 0..n {
        rt.create_function(&format!("f-{i:05}"), echo(), config())
            .unwrap();
    }
    for i in (0..n).step_by(3) {
        rt.delete_function(&format!("f-{i:05}")).unwrap();
    }
    let expected: Vec<String> = (0..n)
        .filter(|i| i % 3 != 0)
        .map(|i| format!("f-{i:05}"))
        .collect();
    let mut seen = Vec::new();
    let mut marker = None;
    loop {
        let page = rt
            .list_functions(ListOptions {
                marker: marker.clone(),
                max_items: 1000,
            })
            .unwrap();
        assert!(page.functions.len() <= 1000);
        seen.extend(page.functions.into_iter().map(|f| f.name));
        match page.next_marker {
            Some(m) => marker = Some(m),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    assert_eq!(
        rt.invoke("f-00001", json!(1)).await.unwrap().payload,
        json!(1)
    );
    assert_eq!(
        rt.get_function("f-00003").unwrap_err().code(),
        "ResourceNotFoundException"
    );
    // Recreating a deleted name works; a live one conflicts.
    rt.create_function("f-00003", echo(), config()).unwrap();
    assert!(rt.create_function("f-00004", echo(), config()).is_err());
}

/// Follows <https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html>: reservations
/// may take all but 100 of the account's concurrency, counted over every function.
#[test]
fn reservations_stay_exact_across_many_functions() {
    let (_clock, rt) = manual_runtime();
    for i in 0..900 {
        rt.create_function(
            &format!("r{i}"),
            echo(),
            FunctionConfig::builder()
                .with_reserved_concurrency(1)
                .build()
                .unwrap(),
        )
        .unwrap();
    }
    let full = FunctionConfig::builder()
        .with_reserved_concurrency(1)
        .build()
        .unwrap();
    assert_eq!(
        rt.create_function("over", echo(), full.clone())
            .unwrap_err()
            .code(),
        "InvalidParameterValueException"
    );
    rt.delete_function("r0").unwrap();
    rt.create_function("over", echo(), full).unwrap();
    // Raising one's own reservation counts only the others.
    rt.put_function_concurrency("r1", Some(1)).unwrap();
    assert!(rt.put_function_concurrency("r1", Some(2)).is_err());
    rt.put_function_concurrency("r2", None).unwrap();
    rt.put_function_concurrency("r1", Some(2)).unwrap();
    assert_eq!(rt.account_settings().unreserved_concurrent_executions, 100);
}
