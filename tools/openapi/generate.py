import json
S=lambda **k: dict(type="string",**k)
I=lambda **k: dict(type="integer",**k)
ref=lambda n: {"$ref": f"#/components/schemas/{n}"}
def obj(props, required=(), extra=False, desc=None):
    o={"type":"object","properties":props}
    if required: o["required"]=list(required)
    if not extra: o["additionalProperties"]=False
    if desc: o["description"]=desc
    return o
def body(schema): return {"required":True,"content":{"application/json":{"schema":schema}}}
def resp(desc, schema=None):
    r={"description":desc}
    if schema: r["content"]={"application/json":{"schema":schema}}
    return r
err=lambda d: resp(d, ref("Error"))
common={"401":err("Missing, unknown or revoked API key"),"403":err("The key's role may not do this"),
        "429":err("rate_limited: too many requests from this key or client address; retry after the Retry-After header's seconds")}
bad={"400":err("Malformed JSON (json_malformed)"),"413":err("Body or image too large (body_too_large, image_too_large)"),
     "415":err("Content-Type is not application/json"),"422":err("Body does not fit the schema (json_invalid) or content refused (reason code)"),
     "408":err("body_timeout: the body did not arrive within body_timeout_secs"),
     "503":err("server_busy: too many uploads being received at once; retry after Retry-After (1 s)")}
idem=[{"name":"Idempotency-Key","in":"header","required":False,"schema":S(maxLength=200),
       "description":"A retry with the same key and body returns the first response (header Idempotent-Replayed: true) instead of acting twice; the same key with another body gets 422 idempotency_key_reused."}]
pid=lambda n="id": {"name":n,"in":"path","required":True,"schema":S()}
def op(summary, roles, responses, req=None, params=(), post=False, tag=None):
    o={"summary":summary,"description":f"Roles: {roles}.","responses":{**common,**responses},"tags":[tag] if tag else []}
    if req:
        o["requestBody"]=body(req)
        own=o["responses"].get("422")
        o["responses"]={**bad,**o["responses"]}
        if own: o["responses"]["422"]=err(own["description"]+"; or json_invalid: the body does not fit the schema")
    ps=list(params)+(idem if post else [])
    if ps: o["parameters"]=ps
    return o
schemas={
 "Error":obj({"error":obj({"code":S(description="Stable machine-readable code"),"message":S(),"reasons":{"type":"array","items":ref("Reason")}},["code","message"])},["error"]),
 "Reason":obj({"code":S(),"severity":S(enum=["reject","review"]),"message":S(description="Plain-language guidance for the clerk")},["code","severity","message"]),
 "Document":obj({"type":S(enum=["cn_resident_id","passport","travel_permit"]),"number":S(description="Resident ID number (cn_resident_id)"),
   "name":S(description="Holder's name as printed; required for cn_resident_id"),"expiry":S(description="cn_resident_id: YYYY-MM-DD or long_term"),
   "mrz":S(description="passport (TD3, 2×44) or travel_permit (TD1, 3×30), lines separated by \\n")},["type"]),
 "DocumentScan":obj({"front":S(format="byte",description="Photo of the card's front or the passport's data page (base64 or a data: URL)"),"back":S(format="byte",description="Photo of the card's back (optional)")},["front"]),
 "StartRequest":obj({"document":ref("Document"),"document_photo":S(format="byte",description="JPEG/PNG/WebP/BMP, base64 or a data: URL; optional with document_scan (the portrait printed on the card is used, marked printed)"),
   "document_photo_source":S(enum=["chip","printed","upload"],description="Where document_photo comes from (default upload)"),
   "document_scan":ref("DocumentScan")},["document"]),
 "CaptureRequirements":obj({"mode":S(enum=["active","passive","off"]),"actions":{"type":"array","items":S(enum=["blink","turn_left","turn_right","open_mouth","nod"]),"description":"active mode: perform these in order while the frames are captured (turn_left = the customer's left)"},"nonce":S(),"min_frames":I(),"max_frames":I(),"min_eye_px":{"type":"number"},"expires_at":S(format="date-time")},extra=True),
 "StartResponse":obj({"id":S(),"state":S(enum=["created"]),"document":obj({"type":S(),"number_masked":S(),"birth_date":S(format="date"),"expiry":S(format="date",nullable=True)},extra=True),
   "document_photo":obj({"source":S(enum=["chip","printed","upload"]),"reference":S(enum=["photo","printed"])}),
   "reasons":{"type":"array","items":ref("Reason"),"description":"Found at the start and carried into the decision: document_data_mismatch (review) when the scan disagrees with the document data"},
   "capture":ref("CaptureRequirements")},extra=True),
 "Field":obj({"value":S(),"confidence":{"type":"number","minimum":0,"maximum":1}}),
 "DocumentRead":obj({"type":S(enum=["cn_resident_id_card","mrz","unknown"]),"valid":{"type":"boolean","description":"The number passes GB 11643-1999 (never true for a number failing its check character) and the printed birth date and sex agree with it; or every MRZ check digit holds"},
   "card":{"type":"object","nullable":True,"description":"side, card_corners, turned, front {name, sex, ethnicity, birth_date, address: Field; id_number: Field + valid, reason}, inconsistencies, timings"},
   "back":{"type":"object","nullable":True,"description":"The back's reading: back {authority, valid_from, valid_until: Field}"},
   "mrz":{"type":"object","nullable":True,"description":"lines, confidence, document (parsed) or reason"},
   "portrait":{"type":"object","nullable":True,"description":"reference: printed; image: base64 JPEG of the portrait cropped from the front"},
   "prefill":{"type":"object","nullable":True,"description":"The Document fields to fill for the clerk to confirm"},"elapsed_ms":{"type":"number"}},extra=True),
 "CaptureRequest":obj({"nonce":S(description="The nonce of the start response"),"frames":{"type":"array","minItems":1,"items":S(format="byte"),"description":"Live frames in capture order (at most max_frames)"}},["nonce","frames"]),
 "Decision":obj({"id":S(),"state":S(enum=["approved","rejected","review"]),"decision":S(enum=["approved","rejected","review"]),"reasons":{"type":"array","items":ref("Reason")},"message":S(),
   "timing_ms":obj({"analysis":{"type":"number"},"decision":{"type":"number"}},extra=True)},extra=True),
 "ActivateRequest":obj({"msisdn":S(description="E.164, e.g. +8613800138000"),"iccid":S(description="19-20 digits starting 89, Luhn check"),"imsi":S(description="15 digits")},["msisdn","iccid","imsi"]),
 "Activation":obj({"id":S(),"state":S(enum=["activated"]),"sim":obj({"msisdn":S(),"iccid":S(),"imsi":S(),"status":S(),"activated_at":S(format="date-time")},extra=True)},extra=True),
 "Registration":obj({"id":S(),"state":S(enum=["created","captured","approved","rejected","review","activated","cancelled"]),"decision":S(nullable=True),"reasons":{"type":"array","items":ref("Reason")},
   "message":S(),"store":S(),"document":obj({"type":S(),"number_masked":S(),"expiry":S(nullable=True)},extra=True),"msisdn":S(nullable=True),"review_comment":S(nullable=True),"photos_purged":{"type":"boolean"},
   "created_at":S(format="date-time"),"updated_at":S(format="date-time")},extra=True),
 "ReviewCase":{"allOf":[ref("Registration"),obj({"scores":obj({"match":{"type":"number","nullable":True},"default_threshold":{"type":"number"},"strict_threshold":{"type":"number"},"duplicates":{"type":"array","items":{"type":"object"}}},extra=True),
   "document_photo":S(format="byte",nullable=True),"live_photo":S(format="byte",nullable=True),"resembling":{"type":"array","items":obj({"registration_id":S(),"score":{"type":"number"},"live_photo":S(format="byte",nullable=True)},extra=True)}},extra=True)]},
 "ReviewDecision":obj({"decision":S(enum=["approve","reject"]),"comment":S(minLength=1,maxLength=2000)},["decision","comment"]),
 "Termination":obj({"msisdn":S(),"status":S(enum=["terminated"]),"remaining_active_sims":I(),"biometrics_deleted":{"type":"boolean"}},extra=True),
 "LookupRequest":obj({"document":obj({"type":S(enum=["cn_resident_id","passport","travel_permit"]),"number":S(description="Resident ID number, or ISSUER:NUMBER for MRZ documents")},["type","number"])},["document"]),
 "Lookup":obj({"active":I(),"sims":{"type":"array","items":obj({"msisdn":S(),"status":S(enum=["active","terminated"]),"activated_at":S(format="date-time"),"terminated_at":S(format="date-time",nullable=True)},extra=True)}},extra=True),
 "AuditEvents":obj({"events":{"type":"array","items":obj({"seq":I(),"operator_id":S(nullable=True),"at":S(format="date-time"),"actor":S(),"action":S(),"subject":S(),"details":{"type":"object"},"prev_hash":S(),"hash":S()},extra=True)},"next_after":I(nullable=True)},extra=True),
 "AuditVerify":obj({"intact":{"type":"boolean"},"events":I(),"error":S()},extra=True),
 "NewKeyRequest":obj({"role":S(enum=["clerk","reviewer","auditor","admin"]),"store":S(),"label":S()},["role"]),
 "NewKey":obj({"id":S(),"key":S(description="Shown once"),"role":S(),"store":S(),"label":S()},extra=True),
 "Settings":obj({"operator":S(),"sim_limit":I(),"capture_mode":S(),"retention_days":I(),"operating_points":{"type":"object"}},extra=True),
 "SettingsRequest":obj({"sim_limit":I(minimum=1,maximum=1000),"capture_mode":S(enum=["active","passive","off"],description="active: random actions checked on face-mesh tracks plus passive checks; passive: frame quality and passive liveness; off: a face is enough (tests only)")}),
}
j=lambda n: resp("OK", ref(n))
paths={
 "/healthz":{"get":{"summary":"Liveness and database check (no key needed)","security":[],"responses":{"200":resp("Up"),"503":resp("Database unavailable")}}},
 "/":{"get":{"summary":"The web console (static page, no key needed; it signs in with a staff key and calls this API)","security":[],"responses":{"200":{"description":"HTML","content":{"text/html":{"schema":S()}}}}}},
 "/console/{file}":{"get":{"summary":"Console assets: app.js, app.css, zh-CN.json, en.json (no key needed)","security":[],"parameters":[pid("file")],"responses":{"200":resp("Asset"),"404":err("No such file")}}},
 "/openapi.json":{"get":op("This document","any role",{"200":resp("OpenAPI 3 document")})},
 "/metrics":{"get":op("Prometheus metrics","any role",{"200":{"description":"Text exposition format","content":{"text/plain":{"schema":S()}}}})},
 "/v1/me":{"get":op("The caller's role, operator and store","any role",{"200":resp("Principal",obj({"key_id":S(),"role":S(enum=["clerk","reviewer","auditor","admin"]),"operator":S(),"store":S()},extra=True))})},
 "/v1/quality":{"post":op("Capture checks on one live frame, stored nowhere (live feedback while framing)","clerk",{"200":resp("Quality",obj({"ok":{"type":"boolean"},"reasons":{"type":"array","items":ref("Reason")},"width":I(),"height":I(),"face":{"type":"object","nullable":True}},extra=True)),
   "422":err("image_invalid, image_base64_invalid")},obj({"frame":S(format="byte")},["frame"]))},
 "/v1/documents/read":{"post":op("Read an identity document from photos (resident ID card front/back, or a passport MRZ) to fill the form; nothing is stored","clerk",{"200":j("DocumentRead"),
   "422":err("image_invalid, image_base64_invalid, document_unreadable"),"503":err("document_reading_unavailable: the OCR models are not installed")},ref("DocumentScan"),post=True,tag="registration")},
 "/v1/registrations":{"post":op("Start a registration: document data and photo (and optionally photos of the document, compared with the data)","clerk",{"201":resp("Created; capture requirements returned",ref("StartResponse")),
   "422":err("document_invalid (with reasons: id_checksum, document_expired, …), image_invalid, image_base64_invalid, document_photo_missing, document_photo_no_face, document_photo_multiple_faces"),"503":err("document_reading_unavailable (with document_scan)")},ref("StartRequest"),post=True,tag="registration")},
 "/v1/registrations/{id}":{"get":op("A registration's state and decision (no photos)","clerk, reviewer, auditor, admin",{"200":j("Registration"),"404":err("Not found (or another operator's)")},params=[pid()],tag="registration")},
 "/v1/registrations/{id}/capture":{"post":op("Submit the live frames; returns the decision","clerk",{"200":j("Decision"),"404":err("Not found"),
   "409":err("capture_already_done, capture_expired"),"422":err("capture_quality (framing problems: the registration stays open for another try; reasons live_no_face, live_multiple_faces, live_face_too_small, live_face_cut_off, live_blurry, live_underexposed, live_overexposed, live_pose), capture_nonce_invalid, frames_count, image_invalid, image_base64_invalid"),
   "429":err("liveness_lockout: this device (key) failed too many liveness checks recently; or rate_limited (see Retry-After)")},ref("CaptureRequest"),[pid()],post=True,tag="registration")},
 "/v1/registrations/{id}/activate":{"post":op("Activate the SIM on an approved registration","clerk",{"200":j("Activation"),"404":err("Not found"),
   "409":err("sim_limit_reached, msisdn_in_use, iccid_in_use, imsi_in_use, state_conflict"),"422":err("msisdn_invalid, iccid_format, iccid_checksum, imsi_invalid")},ref("ActivateRequest"),[pid()],post=True,tag="registration")},
 "/v1/registrations/{id}/cancel":{"post":op("Cancel a registration before activation","clerk",{"200":j("Registration"),"409":err("state_conflict")},params=[pid()],post=True,tag="registration")},
 "/v1/reviews":{"get":op("Open review cases, oldest first","reviewer",{"200":resp("Cases",obj({"cases":{"type":"array","items":ref("Registration")}},extra=True))},
   params=[{"name":"limit","in":"query","required":False,"schema":I(minimum=1,maximum=500)}],tag="review")},
 "/v1/reviews/{id}":{"get":op("One case with both photos, scores and resembling registrations (audited read)","reviewer",{"200":j("ReviewCase"),"404":err("Not found")},params=[pid()],tag="review")},
 "/v1/reviews/{id}/decision":{"post":op("Approve or reject a case, with a comment","reviewer",{"200":j("Registration"),"409":err("state_conflict: not in review")},ref("ReviewDecision"),[pid()],post=True,tag="review")},
 "/v1/sims/{msisdn}/terminate":{"post":op("End a SIM; with the subscriber's last SIM their biometric data is deleted","clerk",{"200":j("Termination"),"404":err("No active SIM with this number"),"422":err("msisdn_invalid")},params=[pid("msisdn")],post=True,tag="sim")},
 "/v1/subscribers/lookup":{"post":op("The numbers registered to a document (subscriber self-lookup at the counter)","clerk",{"200":j("Lookup")},ref("LookupRequest"),post=True,tag="sim")},
 "/v1/audit":{"get":op("The operator's audit events","auditor, admin",{"200":j("AuditEvents")},params=[{"name":"after","in":"query","required":False,"schema":I()},{"name":"limit","in":"query","required":False,"schema":I(minimum=1,maximum=1000)}],tag="audit")},
 "/v1/audit/verify":{"get":op("Verify the hash chain","auditor, admin",{"200":j("AuditVerify")},tag="audit")},
 "/v1/admin/keys":{"get":op("List the operator's keys (no secrets)","admin",{"200":resp("Keys")},tag="admin"),
   "post":op("Create a staff key","admin",{"201":j("NewKey"),"404":err("Store not found")},ref("NewKeyRequest"),post=True,tag="admin")},
 "/v1/admin/keys/{id}/revoke":{"post":op("Revoke a key","admin",{"200":resp("Revoked"),"404":err("No such active key")},params=[pid()],post=True,tag="admin")},
 "/v1/admin/stores/{id}/capture-mode":{"put":op("A store's own capture mode, or null to follow the operator's","admin",{"200":resp("Set"),"404":err("No such store of this operator"),"422":err("capture_mode_invalid")},
   obj({"capture_mode":S(enum=["active","passive","off"],nullable=True)}),[pid()],tag="admin")},
 "/v1/admin/settings":{"get":op("Operator settings","admin",{"200":j("Settings")},tag="admin"),
   "put":op("Change operator settings","admin",{"200":j("Settings"),"422":err("sim_limit_invalid, capture_mode_invalid")},ref("SettingsRequest"),tag="admin")},
}
doc={"openapi":"3.0.3","info":{"title":"simkyc registration service","version":"0.1.0","license":{"name":"Apache-2.0"},
 "description":"Real-name SIM registration with face verification. Every endpoint except /healthz needs Authorization: Bearer <key> (`simkyc admin create-key`). Images are base64 strings (or data: URLs) inside JSON. Errors are {\"error\": {\"code\", \"message\", \"reasons\"}}."},
 "security":[{"bearer":[]}],"components":{"securitySchemes":{"bearer":{"type":"http","scheme":"bearer","description":"sk_<id>_<secret>"}},"schemas":schemas},"paths":paths}
open(__import__("os").path.join(__import__("os").path.dirname(__file__), "../../crates/simkyc-server/openapi.json"),"w").write(json.dumps(doc,indent=1,ensure_ascii=False)+"\n")
