"""Field metadata of the modules the stand-in serves: one table drives records, checks and /settings/fields."""

from dataclasses import dataclass

# Picklist values as in a fresh Zoho CRM org (Deals stages with their default probabilities).
STAGES = {
    "Qualification": 10, "Needs Analysis": 20, "Value Proposition": 40, "Id. Decision Makers": 60,
    "Perception Analysis": 75, "Proposal/Price Quote": 75, "Negotiation/Review": 90,
    "Closed Won": 100, "Closed Lost": 0,
}
LEAD_SOURCES = ["Advertisement", "Cold Call", "Employee Referral", "External Referral", "Partner",
                "Public Relations", "Trade Show", "Web Download", "Web Research", "Seminar Partner"]
DEAL_TYPES = ["New Business", "Existing Business"]
LOSS_REASONS = ["Budget", "Lost to Competitor", "No Decision", "Grant Not Awarded", "Timing"]
SALUTATIONS = ["Mr.", "Mrs.", "Ms.", "Dr.", "Prof."]
ACCOUNT_TYPES = ["Customer", "Prospect", "Partner", "Other"]
INDUSTRIES = ["Education", "Non-Profit", "Government/Military"]

# Zoho's data_type -> json_type, as in /settings/fields responses.
JSON_TYPES = {
    "text": "string", "textarea": "string", "email": "string", "phone": "string", "website": "string",
    "picklist": "string", "date": "string", "datetime": "string", "bigint": "string",
    "integer": "integer", "currency": "double", "double": "double", "boolean": "boolean",
    "lookup": "jsonobject", "ownerlookup": "jsonobject",
}
# Data types whose values are searched by `word=` and compared as text.
TEXT_TYPES = {"text", "textarea", "email", "phone", "website", "picklist"}
NUMBER_TYPES = {"integer", "currency", "double", "bigint"}
LOOKUP_TYPES = {"lookup", "ownerlookup"}


@dataclass(frozen=True)
class Field:
    api_name: str
    label: str
    data_type: str
    lookup: str | None = None  # module a lookup points to ("users" for owner lookups)
    picklist: tuple = ()
    mandatory: bool = False
    read_only: bool = False
    length: int = 255


def _f(api_name, data_type, label=None, **extra):
    return Field(api_name, label or api_name.replace("__s", "").replace("_", " "), data_type, **extra)


def _audit(owner_label, activity=True):
    """Owner and the system audit fields every module has."""
    return (
        _f("Owner", "ownerlookup", owner_label, lookup="users"),
        _f("Created_By", "ownerlookup", lookup="users", read_only=True),
        _f("Modified_By", "ownerlookup", lookup="users", read_only=True),
        _f("Created_Time", "datetime", read_only=True),
        _f("Modified_Time", "datetime", read_only=True),
        *((_f("Last_Activity_Time", "datetime", read_only=True),) if activity else ()),
    )


MODULE_FIELDS = {
    "Deals": (
        _f("Deal_Name", "text", mandatory=True, length=120),
        _f("Amount", "currency", length=16),
        _f("Closing_Date", "date", mandatory=True),
        _f("Stage", "picklist", picklist=tuple(STAGES), mandatory=True),
        _f("Probability", "integer", "Probability (%)", length=3),
        _f("Expected_Revenue", "currency", read_only=True, length=16),
        _f("Pipeline", "picklist", picklist=("Standard (Standard)",), mandatory=True),
        _f("Type", "picklist", picklist=tuple(DEAL_TYPES)),
        _f("Next_Step", "text", length=100),
        _f("Lead_Source", "picklist", picklist=tuple(LEAD_SOURCES)),
        _f("Campaign_Source", "lookup", lookup="Campaigns"),
        _f("Account_Name", "lookup", lookup="Accounts"),
        _f("Contact_Name", "lookup", lookup="Contacts"),
        _f("Description", "textarea", length=32000),
        _f("Currency", "picklist", picklist=("USD",)),
        _f("Exchange_Rate", "double", length=16),
        _f("Reason_For_Loss__s", "picklist", "Reason For Loss", picklist=tuple(LOSS_REASONS)),
        _f("Lead_Conversion_Time", "integer", read_only=True),
        _f("Sales_Cycle_Duration", "integer", read_only=True),
        _f("Overall_Sales_Duration", "integer", read_only=True),
        _f("Locked__s", "boolean", "Locked", read_only=True),
        _f("Record_Status__s", "picklist", "Record Status", picklist=("Available", "Draft", "Trash"),
           read_only=True),
        _f("Change_Log_Time__s", "datetime", "Change Log Time", read_only=True),
        *_audit("Deal Owner"),
    ),
    "Contacts": (
        _f("Salutation", "picklist", picklist=tuple(SALUTATIONS)),
        _f("First_Name", "text", length=40),
        _f("Last_Name", "text", mandatory=True, length=80),
        _f("Full_Name", "text", read_only=True),
        _f("Email", "email", length=100),
        _f("Secondary_Email", "email", length=100),
        _f("Phone", "phone", length=30),
        _f("Mobile", "phone", length=30),
        _f("Title", "text", length=100),
        _f("Department", "text", length=30),
        _f("Account_Name", "lookup", lookup="Accounts"),
        _f("Reporting_To", "lookup", lookup="Contacts"),
        _f("Lead_Source", "picklist", picklist=tuple(LEAD_SOURCES)),
        _f("Email_Opt_Out", "boolean"),
        _f("Mailing_Street", "text"),
        _f("Mailing_City", "text", length=100),
        _f("Mailing_State", "text", length=100),
        _f("Mailing_Zip", "text", length=30),
        _f("Mailing_Country", "text", length=100),
        _f("Description", "textarea", length=32000),
        _f("Record_Status__s", "picklist", "Record Status", picklist=("Available", "Draft", "Trash"),
           read_only=True),
        *_audit("Contact Owner"),
    ),
    "Accounts": (
        _f("Account_Name", "text", mandatory=True, length=200),
        _f("Account_Type", "picklist", picklist=tuple(ACCOUNT_TYPES)),
        _f("Industry", "picklist", picklist=tuple(INDUSTRIES)),
        _f("Phone", "phone", length=30),
        _f("Website", "website", length=255),
        _f("Employees", "integer"),
        _f("Billing_Street", "text"),
        _f("Billing_City", "text", length=30),
        _f("Billing_State", "text", length=30),
        _f("Billing_Code", "text", length=30),
        _f("Billing_Country", "text", length=30),
        _f("Parent_Account", "lookup", lookup="Accounts"),
        _f("Description", "textarea", length=32000),
        _f("Record_Status__s", "picklist", "Record Status", picklist=("Available", "Draft", "Trash"),
           read_only=True),
        *_audit("Account Owner"),
    ),
    "Notes": (
        _f("Note_Title", "text", length=120),
        _f("Note_Content", "textarea", length=32000),
        _f("Parent_Id", "lookup", "Parent ID", lookup="se_module"),
        *_audit("Note Owner", activity=False),
    ),
}

# Lower-case scope names of each module (reference §6.1: scopes use lower-case module names).
MODULE_SCOPES = {name: name.lower() for name in MODULE_FIELDS}


def field_map(module: str) -> dict:
    """api_name -> Field, with `id` added (it is always returned and filterable)."""
    fields = {f.api_name: f for f in MODULE_FIELDS[module]}
    fields["id"] = Field("id", "Record Id", "bigint", read_only=True)
    return fields


FIELD_MAPS = {module: field_map(module) for module in MODULE_FIELDS}
