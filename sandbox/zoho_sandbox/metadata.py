"""Module metadata endpoints the official SDK reads before it parses records (reference §10.3)."""

import zlib

from .data import ID_BASE
from .fields import JSON_TYPES, MODULE_FIELDS

MODULE_IDS = {"Deals": 2_302_001, "Contacts": 2_302_003, "Accounts": 2_302_005, "Notes": 2_302_011,
              "Campaigns": 2_302_013}


def _meta_id(*names) -> str:
    """A stable 19-digit id for a piece of metadata."""
    return str(ID_BASE + 3_000_000 + zlib.crc32("/".join(names).encode()) % 900_000)


def module_ref(name: str) -> dict:
    return {"api_name": name, "id": str(ID_BASE + MODULE_IDS.get(name, 2_302_099))}


def settings_fields(module: str) -> dict:
    """GET /crm/v8/settings/fields?module=X: a realistic subset of each field's metadata."""
    fields = []
    for number, f in enumerate(MODULE_FIELDS[module], start=1):
        field = {
            "api_name": f.api_name, "field_label": f.label, "display_label": f.label,
            "data_type": f.data_type, "json_type": JSON_TYPES[f.data_type],
            "id": _meta_id(module, f.api_name), "system_mandatory": f.mandatory, "custom_field": False,
            "read_only": f.read_only, "field_read_only": f.read_only, "visible": True,
            "length": f.length, "sequence_number": number, "created_source": "default",
            "webhook": True, "filterable": True, "sortable": f.api_name in ("Created_Time", "Modified_Time"),
            "searchable": f.data_type not in ("lookup", "ownerlookup", "boolean"),
            "mass_update": not f.read_only, "decimal_place": 2 if f.data_type == "currency" else None,
            "pick_list_values": [
                {"display_value": value, "actual_value": value, "sequence_number": position,
                 "reference_value": value, "id": _meta_id(module, f.api_name, value),
                 "type": "used", "colour_code": None}
                for position, value in enumerate(f.picklist, start=1)
            ],
            "lookup": {},
        }
        if f.data_type == "lookup" and f.lookup != "se_module":
            field["lookup"] = {"display_label": f.label, "api_name": f.api_name,
                               "module": module_ref(f.lookup), "id": _meta_id(module, f.api_name, "lookup")}
        if f.data_type == "currency":
            field["currency"] = {"rounding_option": "normal", "precision": 2}
        fields.append(field)
    return {"fields": fields}


# The stand-in serves one related list, Notes, under these modules.
NOTES_PARENTS = ("Deals", "Contacts", "Accounts")


def related_lists(module: str) -> dict:
    """GET /crm/v8/settings/related_lists?module=X."""
    if module not in NOTES_PARENTS:
        return {"related_lists": []}
    return {"related_lists": [{
        "id": _meta_id(module, "related", "Notes"), "sequence_number": "1", "display_label": "Notes",
        "api_name": "Notes", "name": "Notes", "module": module_ref("Notes"),
        "href": f"{module}/{{ENTITYID}}/Notes", "type": "default", "action": None, "visible": True,
        "customize_sort": False, "customize_fields": False, "customize_display_label": False,
        "connectedmodule": None, "linkingmodule": None,
    }]}
