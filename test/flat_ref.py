#!/usr/bin/python3
"""Reference FlatMessage conversion (PROTOCOL.md section 8), for checking
`example --json` in tests. A library; run it directly to self-check against
the examples of section 8.4.

An entry is a dict keyed by the protobuf field names; a missing key is a field
that was absent on the wire (absent entryType is 0, not ROWDATA):

    {"entryType": 2,
     "header": {"schemaName": "shop", "tableName": "orders",
                "executeTime": 1700000000000, "gtid": ""},
     "rowChange": {"eventType": 1, "isDdl": False, "sql": "",
                   "rowDatas": [{"beforeColumns": [], "afterColumns": [col]}]}}

    col = {"name": "id", "sqlType": -5, "mysqlType": "bigint(20)",
           "value": "1", "isKey": True, "updated": True, "isNull": False}

entry_from_pb() builds such a dict from a parsed Entry message (google.protobuf).
"""
import json
import re

ROWDATA = 2
INSERT, UPDATE, DELETE = 1, 2, 3
EVENT_NAMES = ["EVENTTYPECOMPATIBLEPROTO2", "INSERT", "UPDATE", "DELETE", "CREATE",
               "ALTER", "ERASE", "QUERY", "TRUNCATE", "RENAME", "CINDEX", "DINDEX",
               "GTID", "XACOMMIT", "XAROLLBACK", "MHEARTBEAT"]


def _value(col):
    return None if col.get("isNull", False) else col.get("value", "")


def flat_message(batch_id, entry, ts):
    """The FlatMessage dict of one entry (keys in output order), or None (section 8.1)."""
    if entry.get("entryType") != ROWDATA:
        return None
    h = entry.get("header", {})
    rc = entry.get("rowChange", {})
    t = rc.get("eventType", 0)
    is_ddl = rc.get("isDdl", False)
    pk_names = sql_type = mysql_type = data = old = None
    if not is_ddl:  # section 8.3; Python dicts have exactly the ordered-map rule
        sql_type, mysql_type, data, old = {}, {}, [], []
        updated, pk_done = set(), False
        for rd in rc.get("rowDatas", []):
            if t not in (INSERT, UPDATE, DELETE):
                continue
            cols = rd.get("beforeColumns" if t == DELETE else "afterColumns", [])
            row = {}
            for c in cols:
                name = c.get("name", "")
                if not pk_done and c.get("isKey", False):
                    pk_names = (pk_names or []) + [name]
                sql_type[name] = c.get("sqlType", 0)
                mysql_type[name] = c.get("mysqlType", "")
                row[name] = _value(c)
                if c.get("updated", False):
                    updated.add(name)
            pk_done = True
            if row:
                data.append(row)
            if t == UPDATE:
                old_row = {}
                for c in rd.get("beforeColumns", []):
                    if c.get("name", "") in updated:
                        old_row[c.get("name", "")] = _value(c)
                old.append(old_row)
        sql_type, mysql_type, data, old = (x or None for x in (sql_type, mysql_type, data, old))
    # Keys in the order Canal's producers write them (fastjson2 writes a
    # bean's properties sorted by name): section 8.2.
    return {
        "data": data,
        "database": h.get("schemaName", ""),
        "es": h.get("executeTime", 0),
        "gtid": h.get("gtid", ""),
        "id": batch_id,
        "isDdl": is_ddl,
        "mysqlType": mysql_type,
        "old": old,
        "pkNames": pk_names,
        "sql": rc.get("sql", ""),
        "sqlType": sql_type,
        "table": h.get("tableName", ""),
        "ts": ts,
        "type": EVENT_NAMES[t] if 0 <= t < len(EVENT_NAMES) else "UNRECOGNIZED",
    }


def dumps(msg):
    """One line as section 8.5 writes it (without the newline)."""
    return json.dumps(msg, ensure_ascii=False, separators=(",", ":"))


def flat_lines(batch_id, entries, ts=0):
    """The expected `example --json` lines (without newlines) for one batch."""
    msgs = (flat_message(batch_id, e, ts) for e in entries)
    return [dumps(m) for m in msgs if m is not None]


_TS = re.compile(r',"ts":-?[0-9]+,"type":"([A-Z0-9_]*)"}$')


def mask_ts(line, ts=0):
    """Replace the top-level ts (the only non-deterministic key) with ts. The
    top-level ts is the one just before the last key, "type", at the end of
    the line: a column named ts inside sqlType cannot be mistaken for it."""
    return _TS.sub(lambda m: ',"ts":%d,"type":"%s"}' % (ts, m.group(1)), line, count=1)


def entry_from_pb(e, row_change_cls):
    """Dict for a parsed Entry protobuf; row_change_cls is the RowChange class
    used to parse storeValue. Presence fields are copied only when present."""
    d = {}
    if e.HasField("entryType"):
        d["entryType"] = e.entryType
    h = e.header
    d["header"] = {"schemaName": h.schemaName, "tableName": h.tableName,
                   "executeTime": h.executeTime, "gtid": h.gtid}
    if d.get("entryType") == ROWDATA:
        rc = row_change_cls.FromString(e.storeValue)
        r = {"sql": rc.sql, "rowDatas": []}
        if rc.HasField("eventType"):
            r["eventType"] = rc.eventType
        if rc.HasField("isDdl"):
            r["isDdl"] = rc.isDdl
        for rd in rc.rowDatas:
            r["rowDatas"].append({
                "beforeColumns": [_col_from_pb(c) for c in rd.beforeColumns],
                "afterColumns": [_col_from_pb(c) for c in rd.afterColumns]})
        d["rowChange"] = r
    return d


def _col_from_pb(c):
    d = {"name": c.name, "sqlType": c.sqlType, "mysqlType": c.mysqlType, "value": c.value,
         "isKey": c.isKey, "updated": c.updated}
    if c.HasField("isNull"):
        d["isNull"] = c.isNull
    return d


# ---------------------------------------------------------------- self-check

def _col(name, sql_type, mysql_type, value, key=False, updated=False):
    return {"name": name, "sqlType": sql_type, "mysqlType": mysql_type,
            "value": "" if value is None else value, "isKey": key,
            "updated": updated, "isNull": value is None}


def _row_entry(event_type, es, rows, gtid=""):
    return {"entryType": ROWDATA,
            "header": {"schemaName": "shop", "tableName": "orders", "executeTime": es,
                       "gtid": gtid},
            "rowChange": {"eventType": event_type, "isDdl": False, "rowDatas": rows}}


def section_8_4_entries():
    """The inputs of the section 8.4 examples, TRANSACTIONBEGIN first."""
    def idc(v, **kw):
        return _col("id", -5, "bigint(20)", v, key=True, **kw)

    def namec(v, **kw):
        return _col("name", 12, "varchar(64)", v, **kw)

    def qty(v, **kw):
        return _col("qty", 4, "int(11)", v, **kw)
    return [
        {"entryType": 1, "header": {"executeTime": 1700000000000}},
        _row_entry(INSERT, 1700000000000, [{"afterColumns": [
            idc("1", updated=True), namec('a"b', updated=True),
            _col("img", 2004, "blob", "\x00\xffA", updated=True)]}]),
        _row_entry(UPDATE, 1700000001000, [
            {"beforeColumns": [idc("1"), namec("x"), qty("5")],
             "afterColumns": [idc("1"), namec("y", updated=True), qty("5")]},
            {"beforeColumns": [idc("2"), namec("p"), qty(None)],
             "afterColumns": [idc("2"), namec("p"), qty("7", updated=True)]}]),
        _row_entry(DELETE, 1700000002000, [{"beforeColumns": [idc("3"), namec(None)]}]),
        {"entryType": ROWDATA,
         "header": {"schemaName": "shop", "tableName": "orders", "executeTime": 1700000003000,
                    "gtid": "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5"},
         "rowChange": {"eventType": 5, "isDdl": True, "sql": "ALTER TABLE orders ADD c INT"}},
    ]


SECTION_8_4 = r'''
{"data":[{"id":"1","name":"a\"b","img":"\u0000ÿA"}],"database":"shop","es":1700000000000,"gtid":"","id":7,"isDdl":false,"mysqlType":{"id":"bigint(20)","name":"varchar(64)","img":"blob"},"old":null,"pkNames":["id"],"sql":"","sqlType":{"id":-5,"name":12,"img":2004},"table":"orders","ts":1700000009999,"type":"INSERT"}
{"data":[{"id":"1","name":"y","qty":"5"},{"id":"2","name":"p","qty":"7"}],"database":"shop","es":1700000001000,"gtid":"","id":7,"isDdl":false,"mysqlType":{"id":"bigint(20)","name":"varchar(64)","qty":"int(11)"},"old":[{"name":"x"},{"name":"p","qty":null}],"pkNames":["id"],"sql":"","sqlType":{"id":-5,"name":12,"qty":4},"table":"orders","ts":1700000009999,"type":"UPDATE"}
{"data":[{"id":"3","name":null}],"database":"shop","es":1700000002000,"gtid":"","id":7,"isDdl":false,"mysqlType":{"id":"bigint(20)","name":"varchar(64)"},"old":null,"pkNames":["id"],"sql":"","sqlType":{"id":-5,"name":12},"table":"orders","ts":1700000009999,"type":"DELETE"}
{"data":null,"database":"shop","es":1700000003000,"gtid":"3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5","id":7,"isDdl":true,"mysqlType":null,"old":null,"pkNames":null,"sql":"ALTER TABLE orders ADD c INT","sqlType":null,"table":"orders","ts":1700000009999,"type":"ALTER"}
'''.strip().splitlines()


if __name__ == "__main__":
    got = flat_lines(7, section_8_4_entries(), ts=1700000009999)
    assert got == SECTION_8_4, "\n".join(got)
    assert mask_ts(got[0]) == got[0].replace("1700000009999", "0")
    # escaping as section 8.5 requires
    assert dumps("\x00\x01\x1f\b\f\n\r\t\"\\/\x7f\u2028é😀") == \
        '"\\u0000\\u0001\\u001f\\b\\f\\n\\r\\t\\"\\\\/\x7f\u2028é😀"'
    print("flat_ref: section 8.4 examples reproduced")
