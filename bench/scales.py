"""The two sizes the benchmark runs at."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    #: Accounts that post (user ids 1..accounts), each with a ``user`` feed.
    accounts: int
    #: Activities per account, on average (accounts are drawn at random).
    activities_per_account: int
    #: How many accounts each measured reader follows (timeline reads).
    reader_follows: tuple[int, ...]
    #: Other readers, each following ``background_follows`` random accounts,
    #: whose timelines fill the entry table as a real site's would.
    background_readers: int
    background_follows: int
    #: Follower counts of the fan-out cases.
    fanout: tuple[int, ...]
    #: Activities in the aggregated / notification feeds measured.
    aggregated_sizes: tuple[int, ...]
    #: Timed runs per case (after the warm-up runs), reads and writes.
    read_runs: int
    write_runs: int
    warmup: int = 3
    #: Days the activities are spread over (one group per verb and day).
    days: int = 90
    #: Where the deep page starts (``id_lt`` of the entry at this position).
    deep_position: int = 500
    #: Busy accounts (user ids ``1..busy_accounts``) post ``busy_per_day``
    #: more activities a day each, on top of their random share; one more
    #: reader follows exactly them ("a user following few of many active
    #: accounts").
    busy_accounts: int = 10
    busy_per_day: int = 20

    @property
    def busy_activities(self) -> int:
        return self.busy_accounts * self.busy_per_day * self.days

    @property
    def activities(self) -> int:
        return self.accounts * self.activities_per_account


SCALES = {
    # Seconds, to check the bench itself; its figures mean little.
    "tiny": Scale(
        name="tiny",
        accounts=300,
        activities_per_account=20,
        reader_follows=(10, 100, 300),
        background_readers=20,
        background_follows=20,
        fanout=(100, 1_000),
        aggregated_sizes=(100, 1_000),
        read_runs=5,
        write_runs=2,
        warmup=1,
        deep_position=100,
        busy_per_day=2,
    ),
    "small": Scale(
        name="small",
        accounts=2_000,
        activities_per_account=50,
        reader_follows=(10, 1_000, 2_000),
        background_readers=1_000,
        background_follows=50,
        fanout=(1_000, 10_000, 30_000),
        aggregated_sizes=(1_000, 10_000, 50_000),
        read_runs=30,
        write_runs=5,
        # The reader of 10 accounts has about 500 entries here.
        deep_position=300,
    ),
    "full": Scale(
        name="full",
        accounts=10_000,
        activities_per_account=100,
        reader_follows=(10, 1_000, 10_000),
        background_readers=1_000,
        background_follows=50,
        fanout=(1_000, 10_000, 100_000),
        aggregated_sizes=(1_000, 10_000, 100_000),
        read_runs=50,
        write_runs=7,
    ),
}
