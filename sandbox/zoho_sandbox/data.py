"""The deterministic demo org: BrightPath Learning sells after-school programs to K-12 districts.

Records are computed from their index on demand (and cached), so 100,000 deals cost no memory up
front. Index 0 is the newest record: ids and Created_Time fall as the index grows, so the default
list order (id descending) starts at index 0, which for Deals is the setup guide's Oakland deal.
Every time is relative to the org's `now` (the stand-in's start), so "changed this week" means the
same to a client reading its own clock: open deals and a quarter of the contacts and accounts were
touched in the last weeks, closed deals when they closed.
Every deal belongs to account i // 3 and has one of that account's two contacts; deals and contacts
carry notes in a fixed repeating pattern, so some have none (for 204s).
"""

import functools
import math
import time
from datetime import datetime, timedelta, timezone

from .fields import DEAL_TYPES, INDUSTRIES, LEAD_SOURCES, LOSS_REASONS, SALUTATIONS, STAGES

ORG_ID = 5725767  # leading digits of every record id, like a real org's
ID_BASE = ORG_ID * 10**12  # ids are 19-digit numbers: ORG_ID, then 12 digits
ID_STEP = 7  # real ids are not consecutive
TZ = timezone(timedelta(hours=-8))  # the user's time zone (America/Los_Angeles, standard time)
DAY = 86400
RECENT_WINDOW = 40 * DAY  # how far back the last edit of a record still in play reaches
COMPANY = "BrightPath Learning"
DOMAIN = "brightpathlearning.example"

# (first, last, role, profile); user 0 is the person who authorizes the integration.
USERS = (
    ("Maria", "Alvarez", "CEO", "Administrator"),
    ("David", "Chen", "Sales Manager", "Standard"),
    ("Priya", "Natarajan", "Account Executive", "Standard"),
    ("Marcus", "Johnson", "Account Executive", "Standard"),
    ("Emily", "Foster", "Partnerships Lead", "Standard"),
)

CITIES = (  # (city, zip, area code)
    ("Oakland", "94612", "510"), ("Fremont", "94538", "510"), ("Hayward", "94541", "510"),
    ("Berkeley", "94704", "510"), ("San Leandro", "94577", "510"), ("Richmond", "94804", "510"),
    ("Vallejo", "94590", "707"), ("Sacramento", "95814", "916"), ("Stockton", "95202", "209"),
    ("Fresno", "93721", "559"), ("Modesto", "95354", "209"), ("Bakersfield", "93301", "661"),
    ("Salinas", "93901", "831"), ("San Jose", "95113", "408"), ("Santa Clara", "95050", "408"),
    ("Sunnyvale", "94086", "408"), ("Palo Alto", "94301", "650"), ("Redwood City", "94063", "650"),
    ("San Mateo", "94401", "650"), ("Daly City", "94014", "650"), ("Santa Rosa", "95404", "707"),
    ("Napa", "94559", "707"), ("Petaluma", "94952", "707"), ("Chico", "95928", "530"),
    ("Redding", "96001", "530"), ("Eureka", "95501", "707"), ("Merced", "95340", "209"),
    ("Visalia", "93291", "559"), ("Lodi", "95240", "209"), ("Tracy", "95376", "209"),
    ("Livermore", "94550", "925"), ("Pleasanton", "94566", "925"), ("Antioch", "94509", "925"),
    ("Concord", "94520", "925"), ("San Rafael", "94901", "415"), ("Santa Cruz", "95060", "831"),
    ("Watsonville", "95076", "831"), ("Monterey", "93940", "831"), ("Gilroy", "95020", "408"),
    ("San Luis Obispo", "93401", "805"), ("Santa Barbara", "93101", "805"), ("Ventura", "93001", "805"),
    ("Oxnard", "93030", "805"), ("Pasadena", "91101", "626"), ("Long Beach", "90802", "562"),
    ("Anaheim", "92805", "714"), ("Riverside", "92501", "951"), ("San Bernardino", "92401", "909"),
    ("Pomona", "91766", "909"), ("Escondido", "92025", "760"), ("Oceanside", "92054", "760"),
    ("Chula Vista", "91910", "619"), ("Lancaster", "93534", "661"), ("Inglewood", "90301", "310"),
    ("Torrance", "90501", "310"),
)
# (name pattern, web/email domain pattern, is a school district)
ACCOUNT_KINDS = (
    ("{city} School District", "{c}sd", True),
    ("{city} Unified School District", "{c}usd", True),
    ("{city} Elementary School District", "{c}esd", True),
    ("{city} Union High School District", "{c}uhsd", True),
    ("{city} City Schools", "{c}cityschools", True),
    ("Boys & Girls Club of {city}", "bgc{c}", False),
    ("YMCA of {city}", "ymca{c}", False),
    ("{city} Parks & Recreation", "{c}parks", False),
    ("{city} Public Library", "{c}library", False),
    ("{city} Education Foundation", "{c}edfoundation", False),
)
# Names repeat once every city/kind pair is used; later rounds get a site suffix.
SITE_SUFFIXES = ("North", "South", "East", "West", "Central", "Valley", "Hills", "Bay")
STREETS = ("Broadway", "Main Street", "Oak Avenue", "Lincoln Avenue", "Washington Street",
           "Park Boulevard", "Mission Street", "El Camino Real", "Market Street", "Franklin Street")
FIRST_NAMES = (
    "Jane", "Michael", "Olivia", "Daniel", "Sofia", "James", "Aisha", "Robert", "Mei", "Carlos",
    "Hannah", "Kevin", "Grace", "Luis", "Fatima", "Brian", "Rachel", "Anthony", "Nicole", "Jorge",
    "Laura", "Samuel", "Tanya", "Eric", "Julia", "Victor", "Amanda", "Hector", "Karen", "Steven",
    "Lisa", "Andre", "Monica", "Thomas", "Yvonne", "Raj", "Christine", "Diego", "Heather", "Omar",
    "Patricia", "Gregory", "Vanessa", "Ian", "Rosa", "Derek", "Megan", "Trevor", "Alicia", "Nathan",
)
LAST_NAMES = (
    "Smith", "Garcia", "Nguyen", "Johnson", "Martinez", "Lee", "Brown", "Hernandez", "Patel",
    "Williams", "Lopez", "Kim", "Davis", "Gonzalez", "Wong", "Miller", "Rodriguez", "Chen", "Wilson",
    "Perez", "Anderson", "Sanchez", "Thomas", "Ramirez", "Taylor", "Torres", "Moore", "Flores",
    "Jackson", "Rivera", "Martin", "Gomez", "White", "Diaz", "Harris", "Reyes", "Clark", "Cruz",
    "Lewis", "Morales", "Walker", "Ortiz", "Hall", "Gutierrez", "Young", "Chavez", "King", "Ramos",
    "Wright", "Castillo",
)
DISTRICT_TITLES = (("Director of Expanded Learning", "Expanded Learning"), ("Superintendent", "Administration"),
                   ("Grants Manager", "Business Services"), ("Principal", "School Site"),
                   ("Chief Business Officer", "Business Services"), ("Program Coordinator", "Expanded Learning"))
NONPROFIT_TITLES = (("Executive Director", "Administration"), ("Program Director", "Programs"),
                    ("Site Coordinator", "Programs"), ("Development Director", "Development"))
DEAL_KINDS = ("Grant Funded", "After-School Expansion", "Summer Learning", "ELOP Renewal",
              "STEM Enrichment Pilot", "Tutoring Services", "Family Engagement", "Staff Training",
              "Multi-Year Contract")
FUNDING = ("ELOP", "ASES", "21st CCLC", "Title I", "ESSER III", "Prop 28 arts", "LCFF supplemental")
PROGRAMS = ("after-school program", "summer enrichment program", "STEM club", "literacy tutoring",
            "arts enrichment", "homework help", "family literacy nights")
NEXT_STEPS = ("Send proposal", "Schedule board presentation", "Follow up on grant award", "Site visit",
              "Contract review", "Confirm student headcount")
OPEN_STAGES = tuple(s for s in STAGES if not s.startswith("Closed"))
STAGE_ORDER = tuple(STAGES)

DEAL_NOTES = (
    ("Discovery call", "Spoke with {contact}: {funding} funding covers {students} students; "
                       "they want the {program} running by {month}."),
    ("Board meeting scheduled", "{account} board reviews the proposal on {date}. {first} will present the budget."),
    ("Budget follow-up", "Finance asked for a per-student cost breakdown; sent the revised quote to {first}."),
    ("Site visit", "Visited two school sites with {first}; cafeterias and the library are free after 3pm."),
    ("Grant timeline", "{funding} allocation expected in {month}; the contract can be signed once the "
                       "award letter arrives."),
    ("Contract redlines", "District legal returned redlines on the insurance clause; waiting on signature."),
)
CONTACT_NOTES = (
    ("Contact preferences", "{first} prefers email; best reached Tuesday and Thursday mornings."),
    ("Met at conference", "Met {first} at the CalSAC expanded learning conference; interested in {program}."),
    ("Role change", "{first} now also oversees summer programs for {account}."),
)
OAKLAND = {  # the deal from the setup guide, verbatim
    "Deal_Name": "Oakland School District - Grant Funded", "Stage": "Qualification", "Amount": 50000,
    "Closing_Date": "2026-03-15", "Description": "ELOP grant, 150 students, after-school program",
}
OAKLAND_NOTES = (  # newest first, like every note list here is indexed
    ("Budget follow-up", "Sent per-student pricing; Jane will share it with the district finance office."),
    ("Discovery call with Jane Smith", "Jane confirmed the ELOP grant covers 150 students for the "
     "after-school program. Board vote expected before the March 15 deadline."),
)
# Notes per deal repeat with period 4 (so deal index 2 has none), per contact with period 3.
DEAL_NOTE_PATTERN = (2, 1, 0, 3)
CONTACT_NOTE_PATTERN = (1, 0, 1)

RECORD_META = {
    "$currency_symbol": "$", "$state": "save", "$process_flow": False, "$locked_for_me": False,
    "$approved": True, "$editable": True, "$in_merge": False, "$approval_state": "approved",
    "$field_states": None, "$orchestration": False, "$sharing_permission": "full_access",
    "$zia_owner_assignment": "owner_recommendation_unavailable",
    "$approval": {"delegate": False, "takeover": False, "approve": False, "reject": False, "resubmit": False},
    "$review_process": {"approve": False, "reject": False, "resubmit": False},
}
NOTE_META = {"$attachments": None, "$editable": True, "$is_shared_to_client": False, "$voice_note": False,
             "$size": None, "$state": "save", "$sharing_permission": "full_access"}

_MASK = (1 << 64) - 1


def mix(seed: int, salt: int, index: int) -> int:
    """A well-spread 64-bit hash (splitmix64): the stand-in's only source of "randomness" in data."""
    z = (seed * 0x9E3779B97F4A7C15 + salt * 0xBF58476D1CE4E5B9 + index * 0x94D049BB133111EB + 1) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def iso(ts: float) -> str:
    """Zoho datetime: ISO 8601 in the user's offset, whole seconds."""
    return datetime.fromtimestamp(int(ts), TZ).isoformat()


def iso_date(ts: float) -> str:
    return datetime.fromtimestamp(ts, TZ).date().isoformat()


def _number(value: float):
    """Currency as Zoho prints it: an integer when whole."""
    return int(value) if float(value).is_integer() else round(value, 2)


def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


class Module:
    """Records of one module, addressed by index; `id` falls as the index grows."""

    name = ""
    id_top = 0

    def __init__(self, org, count: int):
        self.org = org
        self.count = count
        self.record = functools.lru_cache(maxsize=8192)(self._build)
        self.edits = {}  # index -> when a test edited the record (Sandbox.touch_record)

    def id(self, index: int) -> str:
        return str(ID_BASE + self.id_top - index * ID_STEP)

    def index(self, record_id) -> int | None:
        """Index of a record id (string or int), or None if no such record."""
        try:
            offset = self.id_top - (int(record_id) - ID_BASE)
        except (TypeError, ValueError):
            return None
        if offset < 0 or offset % ID_STEP:
            return None
        index = offset // ID_STEP
        return index if index < self.count else None

    def dice(self, salt: int, index: int) -> int:
        return mix(self.org.seed, salt * 31 + len(self.name), index)

    def pick(self, options, salt: int, index: int):
        return options[self.dice(salt, index) % len(options)]

    def audit(self, index: int, owner: dict, creator: dict) -> dict:
        modified = iso(self.modified_ts(index))
        return {"Owner": owner, "Created_By": creator, "Modified_By": owner,
                "Created_Time": iso(self.created_ts(index)), "Modified_Time": modified,
                "Last_Activity_Time": modified}

    def modified_ts(self, index: int) -> int:
        """When the record was last modified: by a test's edit, else as the data has it."""
        return self.edits.get(index) or self.last_edit(index)

    def touch(self, index: int, when: float) -> dict:
        """Record an edit at `when` (Modified_Time moves; nothing else does) and return the record."""
        self.edits[index] = int(when)
        self.record.cache_clear()
        return self.record(index)

    def last_edit(self, index: int) -> int:
        """A quarter of the records were edited lately; the others within 45 days of their creation."""
        if self.dice(98, index) % 4 == 0:
            return self.recently_touched(index)
        created = self.created_ts(index)
        return created + (self.dice(99, index) % (45 * DAY)) % (self.room(index) + 1)

    def room(self, index: int) -> int:
        """Seconds between creation and a minute before the org's now: where an edit can fall."""
        return max(0, self.org.now - 60 - self.created_ts(index))

    def recently_touched(self, index: int) -> int:
        """An edit skewed toward now: about 40% within the last week, all within RECENT_WINDOW."""
        fraction = (self.dice(97, index) % 10_000) / 10_000
        return self.org.now - 60 - min(round(fraction * fraction * RECENT_WINDOW), self.room(index))

    def created_ts(self, index: int) -> float:
        raise NotImplementedError

    def _build(self, index: int) -> dict:
        raise NotImplementedError


class Deals(Module):
    name = "Deals"
    id_top = 400_000_019

    def created_ts(self, index):
        # Logarithmic spread: 60 deals span ~4 months, 100,000 span ~7 years, always strictly older.
        return self.org.now - 3 * DAY - round(400 * DAY * math.log1p(index / 150))

    def deal_name(self, index):
        account = index // 3
        if index == 0:
            return OAKLAND["Deal_Name"]
        return f"{self.org.accounts.account_name(account)} - {DEAL_KINDS[(index % 3 + account) % 9]}"

    def stage(self, index):
        if index < 27:  # the newest deals walk through every stage, so a 60-deal org shows them all
            return STAGE_ORDER[(index * 7) % 9]
        age = self.org.now - self.created_ts(index)
        roll = self.dice(1, index) % 100
        if age < 90 * DAY or roll < 15:
            return self.pick(OPEN_STAGES, 2, index)
        return "Closed Won" if roll < 70 else "Closed Lost"

    def closing_ts(self, index):
        """When a closed deal closed (by yesterday at the latest), or when an open one is due."""
        created = self.created_ts(index)
        if self.stage(index).startswith("Closed"):
            return min(created + (14 + self.dice(7, index) % 77) * DAY, self.org.now - DAY)
        return created + (30 + self.dice(7, index) % 121) * DAY

    def last_edit(self, index):
        """Open deals are worked on lately; a closed deal was last edited when it closed."""
        if not self.stage(index).startswith("Closed"):
            return self.recently_touched(index)
        return min(self.closing_ts(index) + self.dice(96, index) % (2 * DAY), self.org.now - 60)

    def _build(self, index):
        org = self.org
        account, contact = index // 3, 2 * (index // 3) + index % 2
        owner = org.user_ref(0 if index == 0 else (index * 7 + account) % len(USERS))
        created = self.created_ts(index)
        stage = self.stage(index)
        closed = stage.startswith("Closed")
        funding, program = self.pick(FUNDING, 3, index), self.pick(PROGRAMS, 4, index)
        students = 40 + 10 * (self.dice(5, index) % 57)
        amount = 500 * (10 + self.dice(6, index) % 491)
        closing = self.closing_ts(index)
        record = {
            "id": self.id(index),
            "Deal_Name": self.deal_name(index),
            "Amount": amount,
            "Closing_Date": iso_date(closing),
            "Stage": stage,
            "Probability": STAGES[stage],
            "Expected_Revenue": None,
            "Pipeline": "Standard (Standard)",
            "Type": DEAL_TYPES[1] if index % 3 else DEAL_TYPES[0],
            "Next_Step": None if closed else self.pick(NEXT_STEPS, 8, index),
            "Lead_Source": self.pick(LEAD_SOURCES, 9, index),
            "Campaign_Source": None,
            "Account_Name": org.accounts.ref(account),
            "Contact_Name": org.contacts.ref(contact),
            "Description": f"{funding} grant, {students} students, {program}",
            "Currency": "USD",
            "Exchange_Rate": 1,
            "Reason_For_Loss__s": self.pick(LOSS_REASONS, 10, index) if stage == "Closed Lost" else None,
            "Lead_Conversion_Time": None,
            "Sales_Cycle_Duration": round((closing - created) / DAY) if closed else None,
            "Overall_Sales_Duration": round((closing - created) / DAY) if closed else None,
            "Locked__s": False,
            "Record_Status__s": "Available",
            "Tag": [],
            **self.audit(index, owner, org.user_ref(0)),
            **RECORD_META,
        }
        record["Change_Log_Time__s"] = record["Modified_Time"]
        if index == 0:
            record.update(OAKLAND)
        record["Expected_Revenue"] = _number(record["Amount"] * record["Probability"] / 100)
        return record


class Accounts(Module):
    name = "Accounts"
    id_top = 120_000_031

    def created_ts(self, index):
        return self.org.deals.created_ts(3 * index + 2) - 3 * DAY

    def _parts(self, index):
        city_index = index % len(CITIES)
        # Over one round of len(CITIES) * 10 accounts every (city, kind) pair occurs exactly once.
        kind = ACCOUNT_KINDS[(3 * city_index + index // len(CITIES)) % len(ACCOUNT_KINDS)]
        rounds = index // (len(CITIES) * len(ACCOUNT_KINDS))
        return CITIES[city_index], kind, rounds

    def __init__(self, org, count):
        super().__init__(org, count)
        # Three deals share each account, so names are worth caching for list and search scans.
        self.account_name = functools.lru_cache(maxsize=4096)(self._account_name)

    def _account_name(self, index):
        (city, _, _), (pattern, _, _), rounds = self._parts(index)
        name = pattern.format(city=city)
        if rounds:
            suffix = SITE_SUFFIXES[rounds - 1] if rounds <= len(SITE_SUFFIXES) else f"Site {rounds}"
            name = f"{name} - {suffix}"
        return name

    def domain(self, index):
        (city, _, _), (_, pattern, _), rounds = self._parts(index)
        return pattern.format(c=_slug(city)) + (str(rounds) if rounds else "") + ".example"

    def is_district(self, index):
        return self._parts(index)[1][2]

    def ref(self, index):
        return {"name": self.account_name(index), "id": self.id(index)}

    def _build(self, index):
        (city, zip_code, area), _, _ = self._parts(index)
        district = self.is_district(index)
        owner = self.org.user_ref(0 if index == 0 else index % len(USERS))
        return {
            "id": self.id(index),
            "Account_Name": self.account_name(index),
            "Account_Type": "Customer" if self.dice(1, index) % 3 == 0 else "Prospect",
            "Industry": INDUSTRIES[0] if district else self.pick(INDUSTRIES[1:], 2, index),
            "Phone": f"({area}) 555-01{index % 100:02d}",
            "Website": f"https://www.{self.domain(index)}",
            "Employees": 200 + self.dice(3, index) % 4800 if district else 10 + self.dice(3, index) % 290,
            "Billing_Street": f"{100 + self.dice(4, index) % 9000} {self.pick(STREETS, 5, index)}",
            "Billing_City": city,
            "Billing_State": "CA",
            "Billing_Code": zip_code,
            "Billing_Country": "United States",
            "Parent_Account": None,
            "Description": ("K-12 public school district" if district else "Community partner")
                           + f" serving {city}.",
            "Record_Status__s": "Available",
            "Tag": [],
            **self.audit(index, owner, self.org.user_ref(0)),
            **RECORD_META,
        }


class Contacts(Module):
    name = "Contacts"
    id_top = 260_000_047

    def created_ts(self, index):
        return self.org.accounts.created_ts(index // 2) + (2 - index % 2) * 3600

    def names(self, index):
        return FIRST_NAMES[(index * 17) % 50], LAST_NAMES[(index * 29 + index // 50) % 50]

    def full_name(self, index):
        return " ".join(self.names(index))

    def ref(self, index):
        return {"name": self.full_name(index), "id": self.id(index)}

    def _build(self, index):
        org = self.org
        account = index // 2
        first, last = self.names(index)
        (city, zip_code, area), _, _ = org.accounts._parts(account)
        titles = DISTRICT_TITLES if org.accounts.is_district(account) else NONPROFIT_TITLES
        title, department = titles[0] if index == 0 else self.pick(titles, 1, index)
        owner = org.user_ref(0 if index == 0 else (index * 3) % len(USERS))
        return {
            "id": self.id(index),
            "Salutation": self.pick(SALUTATIONS, 2, index),
            "First_Name": first,
            "Last_Name": last,
            "Full_Name": f"{first} {last}",
            "Email": f"{first}.{last}@{org.accounts.domain(account)}".lower(),
            "Secondary_Email": None,
            "Phone": f"({area}) 555-01{(index * 37) % 100:02d}",
            "Mobile": f"({area}) 555-01{(index * 53 + 11) % 100:02d}",
            "Title": title,
            "Department": department,
            "Account_Name": org.accounts.ref(account),
            "Reporting_To": None,
            "Lead_Source": self.pick(LEAD_SOURCES, 3, index),
            "Email_Opt_Out": False,
            "Mailing_Street": f"{100 + self.dice(4, index) % 9000} {self.pick(STREETS, 5, index)}",
            "Mailing_City": city,
            "Mailing_State": "CA",
            "Mailing_Zip": zip_code,
            "Mailing_Country": "United States",
            "Description": None,
            "Record_Status__s": "Available",
            "Tag": [],
            **self.audit(index, owner, org.user_ref(0)),
            **RECORD_META,
        }


def _pattern_prefix(pattern, index):
    """How many notes the parents before `index` have, for a repeating per-parent pattern."""
    period, total = len(pattern), sum(pattern)
    return (index // period) * total + sum(pattern[: index % period])


def _pattern_locate(pattern, position):
    """Inverse of _pattern_prefix: (parent index, note number within the parent) of a note."""
    period, total = len(pattern), sum(pattern)
    base, rest = divmod(position, total)
    for offset, size in enumerate(pattern):
        if rest < size:
            return base * period + offset, rest
        rest -= size
    raise AssertionError("unreachable: rest < total")


class Notes(Module):
    """Deal notes then contact notes, in one index space; each block has its own id range."""

    name = "Notes"
    id_top = 690_000_011
    contact_id_top = 540_000_023

    def __init__(self, org, deal_count, contact_count):
        self.deal_notes = _pattern_prefix(DEAL_NOTE_PATTERN, deal_count)
        self.contact_notes = _pattern_prefix(CONTACT_NOTE_PATTERN, contact_count)
        super().__init__(org, self.deal_notes + self.contact_notes)

    def id(self, index):
        if index < self.deal_notes:
            return str(ID_BASE + self.id_top - index * ID_STEP)
        return str(ID_BASE + self.contact_id_top - (index - self.deal_notes) * ID_STEP)

    def index(self, record_id):
        try:
            number = int(record_id) - ID_BASE
        except (TypeError, ValueError):
            return None
        for top, start, size in ((self.id_top, 0, self.deal_notes),
                                 (self.contact_id_top, self.deal_notes, self.contact_notes)):
            offset = top - number
            if 0 <= offset and offset % ID_STEP == 0 and offset // ID_STEP < size:
                return start + offset // ID_STEP
        return None

    def parent(self, index):
        """(parent module, parent index, note number, notes on that parent)."""
        if index < self.deal_notes:
            parent, number = _pattern_locate(DEAL_NOTE_PATTERN, index)
            return self.org.deals, parent, number, DEAL_NOTE_PATTERN[parent % len(DEAL_NOTE_PATTERN)]
        parent, number = _pattern_locate(CONTACT_NOTE_PATTERN, index - self.deal_notes)
        return self.org.contacts, parent, number, CONTACT_NOTE_PATTERN[parent % len(CONTACT_NOTE_PATTERN)]

    def indices_of(self, module, parent_index):
        """Note indices attached to one deal or contact, newest first."""
        if module.name == "Deals":
            start, count = _pattern_prefix(DEAL_NOTE_PATTERN, parent_index), \
                DEAL_NOTE_PATTERN[parent_index % len(DEAL_NOTE_PATTERN)]
        else:
            start = self.deal_notes + _pattern_prefix(CONTACT_NOTE_PATTERN, parent_index)
            count = CONTACT_NOTE_PATTERN[parent_index % len(CONTACT_NOTE_PATTERN)]
        return range(start, start + count)

    def created_ts(self, index):
        module, parent, number, count = self.parent(index)
        # Note 0 is the newest; all notes fall after their parent and before the data's "now".
        return min(module.created_ts(parent) + round((count - number) * 1.5 * DAY),
                   self.org.now - 3600 * (number + 1))

    def last_edit(self, index):
        return self.created_ts(index)  # notes are written once

    def _build(self, index):
        org = self.org
        module, parent, number, _ = self.parent(index)
        if module is org.deals:
            deal = org.deals.record(parent)
            contact_name = deal["Contact_Name"]["name"]
            if parent == 0:
                title, content = OAKLAND_NOTES[number]
            elif deal["Stage"] in ("Closed Won", "Closed Lost") and number == 0:
                title = deal["Stage"]
                content = (f"Lost: {deal['Reason_For_Loss__s']}." if deal["Stage"] == "Closed Lost"
                           else "Signed! Kickoff planned for next month.")
            else:
                title, content = self.pick(DEAL_NOTES, 1, index)
            funding, students, program = deal["Description"].split(", ")
            values = {"contact": contact_name, "first": contact_name.split()[0],
                      "account": deal["Account_Name"]["name"], "funding": funding.removesuffix(" grant"),
                      "students": students.split()[0], "program": program,
                      "month": datetime.strptime(deal["Closing_Date"], "%Y-%m-%d").strftime("%B"),
                      "date": deal["Closing_Date"]}
            owner, parent_name = deal["Owner"], deal["Deal_Name"]
        else:
            contact = org.contacts.record(parent)
            title, content = self.pick(CONTACT_NOTES, 2, index)
            if parent == 0:
                content = "{first} prefers email and copies the ELOP coordinator on every thread."
            values = {"first": contact["First_Name"], "account": contact["Account_Name"]["name"],
                      "program": self.pick(PROGRAMS, 3, index)}
            owner, parent_name = contact["Owner"], contact["Full_Name"]
        parent_id = module.id(parent)
        created = self.created_ts(index)
        return {
            "id": self.id(index),
            "Note_Title": title,
            "Note_Content": content.format(**values),
            "Parent_Id": {"module": {"api_name": module.name, "id": parent_id}, "name": parent_name,
                          "id": parent_id},
            "Owner": owner,
            "Created_By": owner,
            "Modified_By": owner,
            "Created_Time": iso(created),
            "Modified_Time": iso(self.modified_ts(index)),
            **NOTE_META,
        }


class Org:
    """The whole demo org: users, and the Deals, Accounts, Contacts and Notes modules."""

    def __init__(self, deals: int, seed: int, admin: bool = True, now: float | None = None):
        """`now` (default: the wall clock) is the moment the data leads up to, in whole seconds."""
        self.seed = seed
        self.admin = admin
        self.now = int(time.time() if now is None else now)
        self.deals = Deals(self, deals)
        self.accounts = Accounts(self, math.ceil(deals / 3))
        self.contacts = Contacts(self, 2 * self.accounts.count)
        self.notes = Notes(self, self.deals.count, self.contacts.count)
        self.modules = {m.name: m for m in (self.deals, self.contacts, self.accounts, self.notes)}
        self._user_refs = [{"name": f"{first} {last}", "id": self.user_id(number),
                            "email": f"{first}.{last}@{DOMAIN}".lower()}
                           for number, (first, last, _, _) in enumerate(USERS)]
        self.users = [self._user(k) for k in range(len(USERS))]

    @property
    def current_user(self) -> dict:
        return self.users[0]

    def user_id(self, number: int) -> str:
        return str(ID_BASE + 225_013 + number * ID_STEP)

    def user_created_ts(self, number: int) -> int:
        return self.now - (800 - 40 * number) * DAY

    def user_modified_ts(self, number: int) -> int:
        """Users 0 and 3 changed their settings this week; the others a month or more ago."""
        return self.now - (2 + number) * DAY if number in (0, 3) else self.now - (30 + 9 * number) * DAY

    def user_ref(self, number: int) -> dict:
        """A user lookup value: name, id and email."""
        return self._user_refs[number]

    def _user(self, number: int) -> dict:
        first, last, role, profile = USERS[number]
        if number == 0 and not self.admin:
            profile = "Standard"
        ref = self.user_ref(number)
        return {
            "id": ref["id"], "first_name": first, "last_name": last, "full_name": ref["name"],
            "name": ref["name"], "email": ref["email"], "status": "active", "confirm": True,
            "role": {"name": role, "id": str(ID_BASE + 26_005 + number)},
            "profile": {"name": profile, "id": str(ID_BASE + 26_011 + (0 if profile == "Administrator" else 1))},
            "zuid": str(80_000_000 + number * 1013), "time_zone": "America/Los_Angeles",
            "locale": "en_US", "language": "en_US", "country": "US", "country_locale": "en_US",
            "Created_Time": iso(self.user_created_ts(number)), "Modified_Time": iso(self.user_modified_ts(number)),
            "Isonline": number == 0, "sandboxDeveloper": False, "offset": -28800000,
            "Reporting_To": None if number < 2 else {"name": self.user_ref(1)["name"], "id": self.user_id(1)},
        }

    def org_info(self) -> dict:
        return {
            "id": str(ID_BASE + 4_001), "company_name": COMPANY, "alias": None,
            "primary_email": self.current_user["email"], "primary_zuid": self.current_user["zuid"],
            "zgid": str(ORG_ID * 100 + 3), "domain_name": f"org{ORG_ID * 100 + 3}",
            "time_zone": "America/Los_Angeles", "currency": "US Dollar - USD", "iso_code": "USD",
            "currency_symbol": "$", "currency_locale": "en_US", "country": "United States",
            "country_code": "US", "city": "Oakland", "state": "CA", "zip": "94612",
            "street": "1 Kaiser Plaza", "phone": "(510) 555-0100", "website": f"https://www.{DOMAIN}",
            "employee_count": "25", "type": "production", "mc_status": False, "gapps_enabled": False,
            "privacy_settings": True, "hipaa_compliance_enabled": False, "max_per_page": 200,
            "license_details": {"paid": True, "paid_type": "enterprise", "users_license_purchased": 10,
                                "trial_type": None, "trial_expiry": None, "paid_expiry": None},
        }
