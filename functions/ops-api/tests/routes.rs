//! Which dead-letter queues the ops API knows, from `DEAD_LETTER_QUEUES`
//! (`consumer:dead-letter-queue:queue`, comma-separated), read at start-up:
//! anything else fails the start, naming the variable.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ops_api::routes_from;
use shopflow_ports::DeadLetterRoute;
use std::collections::BTreeMap;

fn env(value: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("DEAD_LETTER_QUEUES".to_owned(), value.to_owned())])
}

fn route(consumer: &str, dead_letter_queue: &str, queue: &str) -> DeadLetterRoute {
    DeadLetterRoute {
        consumer: consumer.into(),
        dead_letter_queue: dead_letter_queue.into(),
        queue: queue.into(),
    }
}

#[test]
fn each_entry_names_the_consumer_then_its_dead_letter_queue_then_its_queue() {
    let routes = routes_from(&env("a:b:c,d:e:f")).unwrap();

    assert_eq!(routes, [route("a", "b", "c"), route("d", "e", "f")]);
}

#[test]
fn spaces_around_entries_and_a_trailing_comma_are_tolerated() {
    let routes = routes_from(&env(
        " order-status:shopflow-dev-order-status-dlq:shopflow-dev-order-status , ",
    ))
    .unwrap();

    assert_eq!(
        routes,
        [route(
            "order-status",
            "shopflow-dev-order-status-dlq",
            "shopflow-dev-order-status"
        )]
    );
}

#[test]
fn an_entry_without_all_three_names_is_refused_naming_the_variable() {
    for value in ["a:b", "a:b:c:d", ":b:c", "a:b:c,d"] {
        let error = routes_from(&env(value)).unwrap_err().to_string();

        assert!(error.contains("DEAD_LETTER_QUEUES"), "{value}: {error}");
    }
}

#[test]
fn an_entry_with_an_empty_queue_name_is_refused() {
    for value in ["a::c", "a:b:", "a::"] {
        let routes = routes_from(&env(value));

        assert!(routes.is_err(), "{value} was accepted as {routes:?}");
    }
}

#[test]
fn unset_or_empty_dead_letter_queues_is_refused_naming_the_variable() {
    for vars in [BTreeMap::new(), env(""), env("  "), env(",")] {
        let error = routes_from(&vars).unwrap_err().to_string();

        assert!(error.contains("DEAD_LETTER_QUEUES"), "{vars:?}: {error}");
    }
}
