//! The contract scenarios again in guest mode (`PLAYER_AUTH=guest`): the service verifies a
//! signed token on every player request, and the client ([`crate::guests::AsGuests`]) sends the
//! named player's token, as the booking page does. Test names:
//! `contract::guest_mode::<transport>::<store>::<scenario>`.
//!
//! Left out, because guest mode answers them otherwise on purpose (each has its own test in
//! `tests/api/players.rs`): a hold by an unknown user (a proven player needs no provisioning:
//! 201, not 404), a look-up or a cancellation naming nobody (without a token that is 401 in guest
//! mode, 422 in trusted mode), and the scenarios about JWT claims or that send malformed user ids
//! as players.

/// Generates, for one transport, one guest-mode test per scenario and store: those before `;` on
/// tokio's single-threaded test runtime, those after it (`simultaneous`) on a multi-threaded one.
macro_rules! as_guests_on_both_stores {
    ($via:ident as $transport:ident: $($scenario:ident),* ; $($together:ident),* $(,)?) => {
        mod $transport {
            as_guests_on_both_stores!(@store $via, sqlite, Sqlite: $($scenario),* ; $($together),*);
            as_guests_on_both_stores!(@store $via, dynamodb, Dynamodb: $($scenario),* ; $($together),*);
        }
    };
    (@store $via:ident, $store:ident, $kind:ident: $($scenario:ident),* ; $($together:ident),*) => {
        mod $store {
            use crate::harness::{StoreKind, TestApp, Via};
            $(
                #[tokio::test]
                async fn $scenario() {
                    let t = TestApp::start_as_guests(Via::$via, StoreKind::$kind).await;
                    crate::contract::$scenario(t).await
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $together() {
                    let t = TestApp::start_as_guests(Via::$via, StoreKind::$kind).await;
                    crate::contract::$together(t).await
                }
            )*
        }
    };
}

/// As `scenarios!`: the clock-moving and the simultaneous ones through the handlers and the local
/// server only (the function binaries answer one request at a time).
macro_rules! guest_scenarios {
    (
        everywhere: [$($any:ident),* $(,)?],
        moving_the_clock: [$($clock:ident),* $(,)?],
        simultaneous: [$($together:ident),* $(,)?] $(,)?
    ) => {
        as_guests_on_both_stores!(Handlers as handlers: $($any,)* $($clock),* ; $($together),*);
        as_guests_on_both_stores!(Loopback as loopback: $($any,)* $($clock),* ; $($together),*);
        as_guests_on_both_stores!(Runtime as runtime: $($any),* ;);
    };
}

guest_scenarios! {
    everywhere: [
        listing_a_fresh_room_shows_every_slot_available_in_start_time_order,
        confirm_books_the_slot_for_everyone,
        release_frees_the_slot_at_once,
        a_second_user_holding_a_held_slot_gets_409,
        the_holder_holding_the_same_slot_again_gets_409,
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
        rooms_are_listed_with_their_name_and_capacity,
        a_room_is_listed_page_by_page_with_a_cursor,
        from_and_to_select_slots_by_start_time,
        another_users_extension_is_403_and_does_not_use_up_the_owners,
        extending_a_confirmed_or_released_hold_is_409,
        a_repeated_idempotency_key_returns_the_first_hold_and_creates_nothing,
        the_same_idempotency_key_from_another_player_is_another_key,
        cancelling_a_booking_frees_the_slot_for_anyone_at_once,
        only_the_owner_cancels_and_only_a_booking,
        an_operator_creates_a_room_and_replaces_it_and_anyone_reads_it,
        operator_routes_need_an_operators_token,
        a_party_outside_the_rooms_players_is_refused_and_looked_up_with_its_size,
        the_rooms_cancel_cut_off_binds_players_but_not_operators,
        an_operators_cancellation_records_the_name_of_the_token_on_the_day_sheet,
        the_day_sheet_shows_the_rooms_bookings_in_start_order_to_operators,
        a_players_holds_come_page_by_page_each_exactly_once,
        a_booking_the_operator_cancelled_stays_on_the_day_sheet_when_the_slot_is_booked_again,
        a_player_reads_a_schedule_without_closure_reasons_and_the_operator_with_them,
        every_json_answer_success_or_error_carries_nosniff_and_no_store,
    ],
    moving_the_clock: [
        extending_a_hold_moves_its_expiry_once,
        extending_an_expired_hold_is_410,
        a_hold_is_looked_up_by_its_owner_with_its_status_and_seconds_left,
        a_look_up_tells_expired_released_and_cancelled_holds,
        my_bookings_are_my_live_holds_and_bookings_newest_first,
        past_holds_are_listed_with_include_past_only,
        a_started_slot_cannot_be_held_and_is_left_out_of_the_listing_unless_asked,
        a_hold_cannot_be_confirmed_or_extended_once_its_slot_started,
        a_booking_cannot_be_cancelled_once_its_slot_started,
        create_returns_201_with_the_hold_and_its_location,
        an_expired_hold_no_longer_blocks_the_slot,
        confirm_returns_410_when_the_hold_expired,
        an_expired_hold_taken_over_by_another_user_cannot_be_confirmed_by_its_first_owner,
        confirming_twice_returns_200_with_the_same_body,
    ],
    // The races of the contract suite, each a few dozen requests: tokens verified on every one.
    simultaneous: [
        six_simultaneous_extensions_have_exactly_one_winner,
        ten_simultaneous_duplicates_make_one_hold,
        a_confirm_and_a_release_sent_together_have_one_winner_and_the_slot_shows_it,
    ],
}
