"""The deterministic demo org: content, links between records, and large sizes built lazily."""

from datetime import datetime

import pytest
from zoho_sandbox.data import DAY, Org
from zoho_sandbox.fields import FIELD_MAPS, STAGES


def test_the_guides_deal_is_index_zero_in_every_size_and_seed():
    for deals, seed in ((1, 1), (60, 2026), (100_000, 99)):
        deal = Org(deals, seed).deals.record(0)
        assert (deal["Deal_Name"], deal["Stage"], deal["Amount"], deal["Closing_Date"], deal["Description"]) == (
            "Oakland School District - Grant Funded", "Qualification", 50000, "2026-03-15",
            "ELOP grant, 150 students, after-school program")
        assert deal["Contact_Name"]["name"] == "Jane Smith"


NOW = 1_795_000_000  # any fixed moment: the org's times are relative to it


def test_same_seed_same_org_other_seed_other_details():
    first, again, other = Org(60, 2026, now=NOW), Org(60, 2026, now=NOW), Org(60, 7, now=NOW)
    assert [first.deals.record(i) for i in range(60)] == [again.deals.record(i) for i in range(60)]
    amounts = [first.deals.record(i)["Amount"] for i in range(1, 60)]
    assert amounts != [other.deals.record(i)["Amount"] for i in range(1, 60)]


def test_a_deal_does_not_change_with_the_org_size():
    small, large = Org(60, 2026, now=NOW), Org(5000, 2026, now=NOW)
    assert all(small.deals.record(i) == large.deals.record(i) for i in range(60))


def test_records_carry_exactly_their_modules_fields():
    org = Org(60, 2026)
    for module in org.modules.values():
        plain = {k for k in module.record(0) if not k.startswith("$")}
        assert plain - {"Tag"} == set(FIELD_MAPS[module.name]), module.name


def test_lookups_point_at_real_records_that_agree():
    org = Org(60, 2026)
    for index in range(60):
        deal = org.deals.record(index)
        account = org.accounts.record(org.accounts.index(deal["Account_Name"]["id"]))
        contact = org.contacts.record(org.contacts.index(deal["Contact_Name"]["id"]))
        assert account["Account_Name"] == deal["Account_Name"]["name"]
        assert contact["Full_Name"] == deal["Contact_Name"]["name"]
        assert contact["Account_Name"] == deal["Account_Name"]
        assert deal["Owner"]["id"] in {u["id"] for u in org.users}
        assert deal["Created_Time"] <= deal["Modified_Time"]


def test_every_note_belongs_to_its_parent():
    org = Org(60, 2026)
    notes = org.notes
    seen = []
    for module in (org.deals, org.contacts):
        for parent in range(module.count):
            for index in notes.indices_of(module, parent):
                note = notes.record(index)
                assert note["Parent_Id"]["id"] == module.id(parent)
                assert note["Parent_Id"]["module"]["api_name"] == module.name
                assert note["Created_Time"] >= module.record(parent)["Created_Time"]
                seen.append(index)
    assert sorted(seen) == list(range(notes.count))
    assert [notes.index(notes.id(i)) for i in range(notes.count)] == list(range(notes.count))


def test_every_stage_and_several_owners_in_sixty_deals():
    org = Org(60, 2026)
    deals = [org.deals.record(i) for i in range(60)]
    assert {d["Stage"] for d in deals} == set(STAGES)
    assert all(d["Probability"] == STAGES[d["Stage"]] for d in deals)
    assert len({d["Owner"]["id"] for d in deals}) == 5
    assert any(org.notes.indices_of(org.deals, i) for i in range(60))
    assert not all(org.notes.indices_of(org.deals, i) for i in range(60))


@pytest.mark.parametrize("deals", [5000, 100_000])
def test_large_orgs_are_lazy_and_consistent(deals):
    org = Org(deals, 2026)
    last = deals - 1
    assert org.deals.record(last)["id"] == org.deals.id(last) and org.deals.index(org.deals.id(last)) == last
    assert org.deals.index(org.deals.id(deals)) is None  # one past the end
    assert org.deals.record.cache_info().currsize == 1  # nothing was built up front
    assert len({org.deals.id(i) for i in range(0, deals, 97)}) == len(range(0, deals, 97))
    ids = {m.name: {m.id(0), m.id(m.count - 1)} for m in org.modules.values()}
    assert len(set().union(*ids.values())) == sum(len(v) for v in ids.values())  # no id shared across modules
    assert all(len(i) == 19 for v in ids.values() for i in v)
    assert org.deals.created_ts(last) < org.deals.created_ts(last - 1)


def test_every_time_leads_up_to_the_orgs_now():
    later = Org(60, 2026, now=NOW + 30 * DAY)
    org = Org(60, 2026, now=NOW)
    for module in org.modules.values():
        for index in range(module.count):
            record, moved = module.record(index), later.modules[module.name].record(index)
            created, modified = (datetime.fromisoformat(record[key]).timestamp()
                                 for key in ("Created_Time", "Modified_Time"))
            assert created <= modified <= NOW - 60, (module.name, index)
            assert datetime.fromisoformat(moved["Modified_Time"]).timestamp() - modified == 30 * DAY
    assert org.deals.record(0)["Closing_Date"] == later.deals.record(0)["Closing_Date"] == "2026-03-15"  # verbatim
    users = [datetime.fromisoformat(u["Modified_Time"]).timestamp() for u in org.users]
    assert all(t <= NOW for t in users) and min(users) < NOW - 7 * DAY < max(users)


@pytest.mark.parametrize("deals, low, high", [(60, 0.15, 0.6), (5000, 0.03, 0.2)])
def test_open_deals_were_touched_lately_closed_ones_when_they_closed(deals, low, high):
    org = Org(deals, 2026, now=NOW)
    week = [i for i in range(deals) if org.deals.modified_ts(i) > NOW - 7 * DAY]
    assert low * deals <= len(week) <= high * deals
    for index in range(0, deals, max(1, deals // 200)):
        deal = org.deals.record(index)
        if deal["Stage"].startswith("Closed"):
            closed = datetime.fromisoformat(deal["Closing_Date"]).timestamp()
            assert -DAY < datetime.fromisoformat(deal["Modified_Time"]).timestamp() - closed < 4 * DAY
        else:
            assert NOW - datetime.fromisoformat(deal["Modified_Time"]).timestamp() <= 40 * DAY
