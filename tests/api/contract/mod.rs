//! The contract suite: the seed's test scenarios and the contract's rules, each written once as a
//! scenario over a [`TestApp`] and run on both stores through every transport where it makes
//! sense (see the `scenarios!` table at the bottom): the handlers in process, the local server
//! over loopback, and the function binaries through the Lambda Runtime API.
//!
//! The scenarios live in one file per topic; the table below names each once and the test names
//! stay `contract::<transport>::<store>::<scenario>`.

use serde_json::json;

use crate::harness::{TestApp, assert_status};

pub(crate) mod calendar_feed;
mod cancellation;
pub(crate) mod caps;
mod day_sheet;
mod expiry;
mod extension;
mod flows;
mod headers;
mod holds;
mod idempotency;
mod identity;
mod lookups;
pub(crate) mod manage;
mod paging;
mod races;
mod retirement;
mod rooms;
mod rules;
mod schedules;
mod slots;
mod webhooks;

pub use calendar_feed::*;
pub use cancellation::*;
pub use day_sheet::*;
pub use expiry::*;
pub use extension::*;
pub use flows::*;
pub use headers::*;
pub use holds::*;
pub use idempotency::*;
pub use identity::*;
pub use lookups::*;
pub use manage::*;
pub use paging::*;
pub use races::*;
pub use retirement::*;
pub use rooms::*;
pub use rules::*;
pub use schedules::*;
pub use slots::*;
pub use webhooks::*;

// ── The Vault: a room of the operator's, in Berlin ──────────────────────────────────────────

pub(crate) fn vault() -> serde_json::Value {
    json!({
        "name": "The Vault",
        "time_zone": "Europe/Berlin",
        "min_players": 2,
        "max_players": 6,
        "duration_minutes": 60,
        "buffer_minutes": 15
    })
}

/// The Vault (Berlin, 60-minute games, 15-minute buffer), bookable two weeks ahead.
async fn the_vault_is_open(t: &TestApp) {
    let mut rules = vault();
    rules["max_advance_days"] = json!(14);
    assert_status(&t.put_room("r-vault", rules).await, 201, None);
}

pub(crate) fn daily(starts: &[&str]) -> serde_json::Value {
    json!({ "weekly": [{ "days": ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"], "starts": starts }] })
}

/// The room's slot ids from now on.
pub(crate) async fn slot_ids(t: &TestApp, room: &str) -> Vec<String> {
    let page = t.get(&format!("/slots?room_id={room}&limit=200")).await;
    assert_status(&page, 200, None);
    page.body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["slot_id"].as_str().unwrap().to_owned())
        .collect()
}

/// The Vault open with `rules` over its defaults, playing daily at 10:00 and 18:00 (Berlin);
/// returns its slot ids from now on.
async fn the_vault_plays_daily(t: &TestApp, rules: serde_json::Value) -> Vec<String> {
    let mut room = vault();
    room["max_advance_days"] = json!(14);
    for (field, value) in rules.as_object().unwrap() {
        room[field] = value.clone();
    }
    assert_status(&t.put_room("r-vault", room).await, 201, None);
    let published = t.put_schedule("r-vault", daily(&["10:00", "18:00"])).await;
    assert_status(&published, 200, None);
    slot_ids(t, "r-vault").await
}

/// Generates, for one transport, one test per scenario and store, named
/// `<transport>::<store>::<scenario>`: the scenarios before `;` on tokio's single-threaded test
/// runtime, those after it (`simultaneous`) on a multi-threaded one.
macro_rules! on_both_stores {
    ($via:ident as $transport:ident: $($scenario:ident),* ; $($together:ident),* $(,)?) => {
        mod $transport {
            on_both_stores!(@store $via, sqlite, Sqlite: $($scenario),* ; $($together),*);
            on_both_stores!(@store $via, dynamodb, Dynamodb: $($scenario),* ; $($together),*);
        }
    };
    (@store $via:ident, $store:ident, $kind:ident: $($scenario:ident),* ; $($together:ident),*) => {
        mod $store {
            use crate::harness::{StoreKind, TestApp, Via};
            $(
                #[tokio::test]
                async fn $scenario() {
                    let t = TestApp::start(Via::$via, StoreKind::$kind, &[]).await;
                    crate::contract::$scenario(t).await
                }
            )*
            $(
                // More worker threads than cores: the requests' threads interleave wherever
                // the operating system switches them, not only where a task awaits.
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $together() {
                    let t = TestApp::start(Via::$via, StoreKind::$kind, &[]).await;
                    crate::contract::$together(t).await
                }
            )*
        }
    };
}

/// Each scenario is named once, in the group of what it needs; every group runs through the
/// handlers, the clock-moving and simultaneous ones also over loopback (the in-process server
/// shares the manual clock), the API Gateway ones also through the function binaries (which run
/// on the system clock, so nothing there moves time, and answer one request at a time).
macro_rules! scenarios {
    (
        everywhere: [$($any:ident),* $(,)?],
        moving_the_clock: [$($clock:ident),* $(,)?],
        simultaneous: [$($together:ident),* $(,)?],
        api_gateway_events: [$($gateway:ident),* $(,)?] $(,)?
    ) => {
        on_both_stores!(Handlers as handlers: $($any,)* $($clock,)* $($gateway),* ; $($together),*);
        on_both_stores!(Loopback as loopback: $($any,)* $($clock),* ; $($together),*);
        on_both_stores!(Runtime as runtime: $($any,)* $($gateway),* ;);
    };
}

scenarios! {
    everywhere: [
        listing_a_fresh_room_shows_every_slot_available_in_start_time_order,
        confirm_books_the_slot_for_everyone,
        release_frees_the_slot_at_once,
        a_second_user_holding_a_held_slot_gets_409,
        the_holder_holding_the_same_slot_again_gets_409,
        holding_an_unknown_slot_or_as_an_unknown_user_gets_404,
        confirm_and_release_of_an_unknown_hold_return_410,
        confirming_another_users_hold_returns_403_and_leaves_it_held,
        releasing_another_users_hold_returns_403_and_leaves_it_held,
        releasing_twice_returns_200,
        a_release_retried_after_the_slot_was_held_again_still_returns_200,
        releasing_a_confirmed_hold_returns_409_and_keeps_the_booking,
        confirming_a_released_hold_returns_410,
        listing_tells_my_holds_from_other_users_holds,
        listing_an_unknown_room_returns_404,
        listing_only_shows_the_asked_rooms_slots,
        the_booking_flow_from_listing_to_booking_and_release,
        client_errors_come_back_as_json_with_their_codes,
        rooms_are_listed_with_their_name_and_capacity,
        a_room_is_listed_page_by_page_with_a_cursor,
        a_cursor_of_another_room_a_garbage_cursor_or_a_bad_limit_is_422,
        from_and_to_select_slots_by_start_time,
        another_users_extension_is_403_and_does_not_use_up_the_owners,
        extending_a_confirmed_or_released_hold_is_409,
        a_look_up_is_for_the_owner_only_and_needs_a_user_id,
        a_repeated_idempotency_key_returns_the_first_hold_and_creates_nothing,
        the_same_idempotency_key_from_another_player_is_another_key,
        cancelling_a_booking_frees_the_slot_for_anyone_at_once,
        only_the_owner_cancels_and_only_a_booking,
        an_operator_creates_a_room_and_replaces_it_and_anyone_reads_it,
        operator_routes_need_an_operators_token,
        a_room_with_a_rule_out_of_range_is_refused_naming_it,
        publishing_a_schedule_makes_its_slots_and_publishing_it_again_changes_nothing,
        a_new_schedule_removes_free_slots_and_keeps_held_and_booked_ones,
        no_game_is_offered_on_a_closed_date,
        a_schedule_with_overlapping_games_is_refused_naming_the_clash,
        a_schedule_over_a_limit_is_refused_naming_it_and_nothing_is_written,
        a_room_moved_to_another_time_zone_has_its_free_slots_moved,
        a_new_game_is_never_offered_over_a_kept_slot,
        a_party_outside_the_rooms_players_is_refused_and_looked_up_with_its_size,
        a_change_of_the_rooms_rules_applies_to_its_slots_at_once,
        the_rooms_cancel_cut_off_binds_players_but_not_operators,
        an_operators_cancellation_needs_the_operator_and_a_reason,
        an_operators_cancellation_records_the_name_of_the_token_on_the_day_sheet,
        the_day_sheet_shows_the_rooms_bookings_in_start_order_to_operators,
        a_players_holds_come_page_by_page_each_exactly_once,
        a_booking_the_operator_cancelled_stays_on_the_day_sheet_when_the_slot_is_booked_again,
        the_day_sheet_comes_page_by_page_each_booking_exactly_once,
        a_player_reads_a_schedule_without_closure_reasons_and_the_operator_with_them,
        every_json_answer_success_or_error_carries_nosniff_and_no_store,
        a_confirmed_booking_has_a_reference_and_a_key_that_opens_it,
        a_wrong_key_another_bookings_key_and_an_unknown_reference_are_one_404,
        a_booking_is_a_calendar_file_behind_its_key_and_its_cancellation_cancels_it,
        a_rooms_feed_is_off_until_rotated_and_its_url_is_shown_only_by_the_rotation,
        the_feed_is_every_upcoming_booking_with_party_and_contact_behind_its_current_key,
        another_kind_of_bearer_on_the_manage_routes_is_401,
        cancelling_by_the_manage_link_follows_the_players_rules,
        contact_details_are_checked_and_shown_only_to_the_owner_and_operators,
        a_retired_room_leaves_the_listings_and_its_slots_take_no_hold,
        a_room_with_upcoming_bookings_is_retired_only_with_them_cancelled_for_a_reason,
        an_operator_registers_lists_and_deletes_a_webhook_whose_secret_is_shown_once,
        an_operator_enables_a_webhook_a_410_disabled_and_only_an_operator_may,
    ],
    // The scenario moves the manual clock (the function binaries run on the system clock).
    moving_the_clock: [
        extending_a_hold_moves_its_expiry_once,
        extending_an_expired_hold_is_410,
        a_hold_is_looked_up_by_its_owner_with_its_status_and_seconds_left,
        a_look_up_tells_expired_released_and_cancelled_holds,
        my_bookings_are_my_live_holds_and_bookings_newest_first,
        past_holds_are_listed_with_include_past_only,
        a_started_slot_cannot_be_held_and_is_left_out_of_the_listing_unless_asked,
        a_hold_cannot_be_confirmed_or_extended_once_its_slot_started,
        an_idempotency_key_is_forgotten_after_24_hours,
        a_booking_cannot_be_cancelled_once_its_slot_started,
        create_returns_201_with_the_hold_and_its_location,
        holding_a_booked_slot_gets_409_even_after_the_hold_would_have_expired,
        an_expired_hold_no_longer_blocks_the_slot,
        confirm_returns_410_when_the_hold_expired,
        confirm_just_before_expiry_succeeds,
        an_expired_hold_taken_over_by_another_user_cannot_be_confirmed_by_its_first_owner,
        release_returns_410_when_the_hold_expired,
        confirming_twice_returns_200_with_the_same_body,
        a_release_retried_after_the_hold_would_have_expired_returns_410,
        a_slot_inside_the_rooms_notice_period_is_closed_and_cannot_be_held,
    ],
    // Requests sent together from several threads (the function binaries answer one at a time).
    simultaneous: [
        six_simultaneous_extensions_have_exactly_one_winner,
        ten_simultaneous_duplicates_make_one_hold,
        a_confirm_and_a_release_sent_together_have_one_winner_and_the_slot_shows_it,
    ],
    // JWT authorizer claims, base64 bodies and the stage exist only in API Gateway's events.
    api_gateway_events: [
        with_a_jwt_a_new_player_needs_no_provisioning,
        with_a_jwt_an_operator_is_a_caller_with_the_operator_scope,
        with_a_jwt_the_claimed_user_must_be_the_authenticated_one,
        with_a_jwt_the_listing_is_seen_as_the_authenticated_user,
        with_a_jwt_the_token_subject_is_the_caller_on_every_route,
        base64_bodies_behind_a_named_stage_are_read_as_json,
        with_a_jwt_only_the_operator_scope_reads_closure_reasons,
    ],
}

// The same scenarios in guest mode (`PLAYER_AUTH=guest`), each player sending their token.
mod guest_mode;
