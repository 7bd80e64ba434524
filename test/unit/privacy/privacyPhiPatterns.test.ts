/**
 * The PHI detector pattern by pattern: each identifier's spellings, where its range starts and ends, and the
 * look-alikes it must leave alone; overlaps, scrubbing, counting and slicing. Written so a mutation of
 * src/privacy/phiDetector.ts fails one of them (npm run test:mutation -- --mutate src/privacy/phiDetector.ts).
 */
import * as assert from "node:assert/strict";
import { countByCategory, detectPhi, detectPhiInSlices, PHI_CATEGORIES, PHI_LABELS, scrubPhi, type PhiSpan } from "../../../src/privacy/phiDetector";
import { loadLabelledNotes, scoreDetector } from "../../fixtures/phi/labelledNotes";

const found = (text: string): string[] => detectPhi(text).map((s) => `${s.category}:${s.text}`);
const one = (text: string, expected: string): void => assert.deepEqual(found(text), [expected], text);
const none = (text: string): void => assert.deepEqual(found(text), [], text);

describe("PHI detector: patterns", () => {
  it("on the labelled notes finds every identifier with its exact range but seven bare names, and nothing else", () => {
    // The seven: names with neither a title nor a label before them, out of reach for patterns.
    const known = ["hp-01 Patel", "phone-05 Linda Park", "peds-37 Jones", "mix-42 Louis Tran", "mix-43 Ahmed Karimi", "ho-13 Priya Williams", "ho-15 Victor Nguyen"];
    const mistakes = [...loadLabelledNotes(), ...loadLabelledNotes("heldout")].flatMap((note) =>
      scoreDetector([note], detectPhi).mistakes.map((m) => `${m.kind} ${m.category}: ${m.note} ${m.text}`),
    );
    assert.deepEqual(
      mistakes,
      known.map((k) => `missed name: ${k}`),
    );
  });

  it("emails: the whole address, dotted domains, not a bare @ or a one-letter top-level domain", () => {
    one("write to a.b_c%d+e-f@mail-1.example.co.uk today", "email:a.b_c%d+e-f@mail-1.example.co.uk");
    none("meet @ noon; x@y.z; me@host");
    one("Email: j@x.io.", "email:j@x.io");
  });

  it("web addresses: http, https and www, without the sentence's punctuation or brackets", () => {
    one("see http://a.org/x?y=1.", "url:http://a.org/x?y=1");
    one("(see HTTPS://A.ORG/path).", "url:HTTPS://A.ORG/path");
    one("at www.clinic.org/portal, then", "url:www.clinic.org/portal");
    one("at www.x.org/a;b!?]:", "url:www.x.org/a;b");
    assert.deepEqual(found('link "https://a.org/b" <https://c.org> `www.d.org`'), ["url:https://a.org/b", "url:https://c.org", "url:www.d.org"]);
    none("http:/a.org, wwwx.org, ftp://a.org");
  });

  it("Social Security numbers: dashed and valid, or labelled in any spelling", () => {
    one("id 219-09-9999 on file", "ssn:219-09-9999");
    for (const bad of ["000-12-3456", "666-12-3456", "912-12-3456", "123-00-4567", "123-45-0000", "1123-45-6789", "123-45-67890", "-123-45-6789", "123-45-6789-1"])
      none(`x ${bad} y`);
    for (const label of ["SSN", "ssn:", "SS#", "SS No.", "SS No", "Social Security", "Social Security Number:", "Social Security No.", "Social Security #"]) {
      one(`${label} 123456789 noted`, "ssn:123456789");
    }
    one("SSN: 123 45 6789", "ssn:123 45 6789");
    none("SSN 1234567890");
    none("SSN 12345678-9");
  });

  it("record numbers: after one of their labels, with at least four digits", () => {
    const labels = [
      "MRN",
      "MR#",
      "MR No.",
      "MR No",
      "Med Rec No",
      "Medical Rec. Number",
      "Medical Record #",
      "Medical Record",
      "Medical Record Number",
      "Medical Record No.",
      "Acct",
      "Acct.",
      "Acct No.",
      "Acct Number",
      "Acct #",
      "Account",
      "Account Number",
      "Account No",
      "Account #",
      "Patient ID",
      "Pt ID",
      "Encounter No.",
      "Encounter Number",
      "Encounter #",
      "Encounter ID",
      "FIN",
      "CSN",
      "Visit No.",
      "Visit #",
      "Visit Number",
      "Chart No",
      "Chart #",
      "Chart Number",
      "Accession",
      "Accession No.",
      "Accession #",
      "Accession Number",
      "Member ID",
      "Insurance ID",
      "Subscriber ID",
      "Policy No.",
      "Policy #",
      "Policy Number",
      "Health Plan ID",
      "Health Plan Number",
      "Medicaid ID",
      "Medicaid #",
      "Medicare ID",
      "Medicare #",
      "Medicare Number",
    ];
    for (const label of labels) one(`${label}: 00482913 on file`, "mrn:00482913");
    one("mrn is AB-1234", "mrn:AB-1234");
    one("MRN#12345", "mrn:12345");
    one("MRN 12A4-56B7", "mrn:12A4-56B7");
    one("MRN ABCD-5678.", "mrn:ABCD-5678");
    none("MRN 123");
    none("MRN 1A2B3");
    none("MRN 12345-");
    none("MRN 1234x");
    none("Encounter 12345");
    none("XMRN 12345");
  });

  it("phone numbers: US forms with area codes and separators, not doses, dates or longer numbers", () => {
    for (const p of ["(617) 555-0142", "(617)555-0142", "617-555-0142", "617.555.0142", "617 555 0142", "+1 617-555-0142", "1-617-555-0142", "+1.617.555.0142", "1617-555-0142"]) {
      one(`call ${p} now`, `phone:${p}`);
    }
    for (const p of [
      "117-555-0142",
      "617-155-0142",
      "617-555-01423",
      "617-555-0142-",
      "617-555-0142/",
      "617-555-0142.5",
      "5617-555-0142",
      "/617-555-0142",
      ".617-555-0142",
      "-617-555-0142",
      "(117) 555-0142",
      "617-555-142",
    ]) {
      none(`call ${p} now`);
    }
    one("call 617-555-0142.", "phone:617-555-0142");
  });

  it("street addresses: number, optional direction and words, a street type, unit, city, state and ZIP", () => {
    for (const suffix of [
      "Street",
      "St",
      "Avenue",
      "Ave",
      "Road",
      "Rd",
      "Boulevard",
      "Blvd",
      "Lane",
      "Ln",
      "Drive",
      "Court",
      "Ct",
      "Way",
      "Place",
      "Pl",
      "Terrace",
      "Ter",
      "Circle",
      "Cir",
      "Parkway",
      "Pkwy",
      "Highway",
      "Hwy",
      "Square",
      "Sq",
      "Trail",
      "Trl",
      "Alley",
      "Row",
    ]) {
      one(`lives at 12 Elm ${suffix} alone`, `address:12 Elm ${suffix}`);
    }
    one("at 123456B N. Old Mill O'Hara Road", "address:123456B N. Old Mill O'Hara Road");
    one("at 4 W Main St", "address:4 W Main St");
    one("at 9 Elm St Suite 200 today", "address:9 Elm St Suite 200");
    for (const unit of ["Apt 4", "Apartment 4", "Ste. 4", "Unit #4", "Room 4", "Rm 4", "# 4-B"]) one(`at 9 Elm St, ${unit} today`, `address:9 Elm St, ${unit}`);
    one("at 9 Elm St, New Castle Upon, DE 19720-1234 today", "address:9 Elm St, New Castle Upon, DE 19720-1234");
    one("at 9 Elm St, Dover DE. 19901 today", "address:9 Elm St, Dover DE. 19901");
    one("at 1 Elm Rd.", "address:1 Elm Rd.");
    none("1234567 Elm Street");
    none("12 elm street");
    one("PO Box 7", "address:PO Box 7");
    one("p.o.box 77, Salem, OR 97301", "address:p.o.box 77, Salem, OR 97301");
    one("P O Box 7", "address:P O Box 7");
    none("Box 7; PO Box");
    one("moved to Springfield, IL 62704 last year", "address:Springfield, IL 62704");
    one("moved to Salt Lake City, UT 84101-0001.", "address:Salt Lake City, UT 84101-0001");
    none("moved to springfield, IL 62704");
    none("moved to Springfield, IL 627041");
  });

  it("a street's Dr. keeps its period only before a sentence, and is no title", () => {
    one("Home: 45 Maple Dr. Patient needs wound care.", "address:45 Maple Dr.");
    one("at 45 Maple Ln, Austin, TX 78701.", "address:45 Maple Ln, Austin, TX 78701");
    assert.deepEqual(found("12 Oak Dr. Smith called"), ["address:12 Oak Dr."]);
    assert.deepEqual(found("12 Oak Rd. Dr. Smith called"), ["address:12 Oak Rd.", "name:Smith"]);
  });

  it("numeric dates: day, month and year in the usual orders, not fractions, vitals or versions", () => {
    for (const d of ["03/14/2024", "3/14/24", "3-14-2024", "12/31/1999", "10/1/20", "1/09/2024"]) one(`on ${d} seen`, `date:${d}`);
    for (const d of ["14.03.2024", "1.2.1999", "31.12.2024"]) one(`on ${d} seen`, `date:${d}`);
    for (const d of ["10/2024", "1/1999"]) one(`in ${d} seen`, `date:${d}`);
    for (const d of ["2024-03-14", "1999-12-31"]) one(`on ${d} seen`, `date:${d}`);
    for (const d of [
      "13/14/2024",
      "3/32/2024",
      "3/14-2024",
      "03/14/20245",
      "1/03/14/2024",
      "3/14/2024/",
      "3/14/2024.5",
      "-3/14/2024",
      ".3/14/2024",
      "32.03.2024",
      "14.13.2024",
      "14.03.24",
      "14.03.20245",
      "13/2024",
      "10/2024-",
      "10/20245",
      "2024-13-14",
      "2024-03-32",
      "2024-03-14-1",
      "12024-03-14",
      "2024-00-10",
      "10/2024.5",
    ]) {
      none(`x ${d} y`);
    }
  });

  it("named dates: a month with a day or a year, in either order, abbreviated or not", () => {
    for (const d of [
      "March 14, 2024",
      "Mar. 14th",
      "Mar 2024",
      "Sept 3",
      "Sep 30, 1999",
      "Jan 1st",
      "February 2nd 2020",
      "Apr 3rd",
      "June 21",
      "Jun 9",
      "July 4th",
      "Jul 4",
      "Aug 31",
      "August 2023",
      "Oct 10",
      "October 5",
      "Nov 11",
      "November 2024",
      "Dec 25",
      "December 1, 2024",
      "Feb 29",
      "Jan 10",
      "January 10",
      "May 5",
    ]) {
      one(`seen ${d} here`, `date:${d}`);
    }
    for (const d of ["14 March 2024", "14th of March", "1st Jan", "3 Sept", "22nd December, 2023", "09 Feb"]) one(`seen ${d} here`, `date:${d}`);
    none("may 5 times");
    none("March 32");
    none("March");
    none("Marching 14");
  });

  it("a day and month without a year only after words that make it a date", () => {
    for (const w of ["on", "since", "from", "until", "till", "through", "thru", "dated", "DOB", "born", "seen", "admitted", "discharged", "last seen", "due", "DOB:"]) {
      one(`${w} 3/14 noted`, "date:3/14");
    }
    one("Seen 12/31.", "date:12/31");
    none("BP 120/80");
    none("on 3/145");
    none("on 3/14/");
    none("on 13/14");
    none("on 3/32");
    none("moon 3/14");
  });

  it("ages: 90 to 125 in years-old spellings and after age, never younger or impossible", () => {
    for (const a of [
      "90 years old",
      "95 yrs old",
      "99 yr old",
      "91 y old",
      "92 y.o.",
      "93-year-old",
      "94 year old",
      "96 years-old",
      "97 yo",
      "98 y/o",
      "100yo",
      "101 yr",
      "102 years",
      "103 yrs",
      "age 104",
      "aged 105",
      "Age: 106",
      "AGE 107",
      "age:108",
      "125 yo",
    ]) {
      const value = /\d+/.exec(a)![0];
      one(`a ${a} man`, `age:${value}`);
    }
    for (const a of ["89 yo", "126 yo", "9 yo", "1000 yo", "95.5 yo", "1.95 yo", "age 95.5", "age 1234", "95 yearly"]) none(`a ${a} man`);
  });

  it("names after titles: one to three parts, initials, apostrophes and hyphens, not roles", () => {
    for (const t of ["Dr", "Dr.", "Mr", "Mrs.", "Ms", "Mx", "Miss", "Prof.", "Doctor", "Nurse", "Sister", "Father"]) one(`seen by ${t} Okafor today`, "name:Okafor");
    one("Dr. J. Chen Liu Wong Extra said", "name:J. Chen Liu");
    one("Dr. Smith-Jones, RN", "name:Smith-Jones");
    one("Mr. McDonald and", "name:McDonald");
    one("Mrs. D'Angelo-Ruiz today", "name:D'Angelo-Ruiz");
    one("Mr. O\u2019Neil today", "name:O\u2019Neil");
    one("Dr. Smith, John was", "name:Smith, John");
    one("Dr. Smith John, Jr was", "name:Smith John");
    one("Dr.\tLee saw", "name:Lee");
    none("Dr. On Call");
    none("Dr. Cardiology");
    none("dr. Smith");
    none("MS Contin 15 mg");
    none("Dr.\nSmith");
    none("DR. SMITH");
    none("Dr. smith");
    one("Dr. Lee\nSmith", "name:Lee");
  });

  it("names after labels: two parts at least, or a surname and a comma", () => {
    for (const label of [
      "Patient",
      "Patient's Name",
      "Patient Name",
      "Pt",
      "Pt Name",
      "Name",
      "Attending",
      "Attending Physician",
      "Resident",
      "Intern",
      "Fellow",
      "PCP",
      "Primary Care",
      "Primary Care Physician",
      "Primary Care Provider",
      "Provider",
      "Physician",
      "Surgeon",
      "Assistant",
      "Anesthesiologist",
      "Anesthesia",
      "Nurse",
      "RN",
      "Case Manager",
      "Social Worker",
      "Signed",
      "Signed by",
      "Electronically Signed by",
      "Co-signed by",
      "Cosigned",
      "Dictated by",
      "Transcribed by",
      "Referred by",
      "Referring",
      "Referring Physician",
      "Referring Provider",
      "Emergency Contact",
      "Next of Kin",
      "NOK",
      "Guardian",
      "Contact",
      "Spouse",
      "Wife",
      "Husband",
      "Mother",
      "Father",
      "Daughter",
      "Son",
      "Caregiver",
      "Interpreter",
      "Author",
      "Seen with",
    ]) {
      one(`Note. ${label}: Maria Gonzalez here`, "name:Maria Gonzalez");
    }
    one("patient:  Maria Gonzalez", "name:Maria Gonzalez");
    one("(Pt: Kim, Lee)", "name:Kim, Lee");
    none("Pt: Kim, now");
    none("Patient: Alert and oriented");
    none("Patient: Gonzalez");
    none("Patient: Stable. Plan: rest");
    none("Patient Maria Gonzalez");
  });

  it("names introduced by a relation or by 'name is'", () => {
    for (const w of [
      "son",
      "Son",
      "daughter",
      "wife",
      "Husband",
      "spouse",
      "partner",
      "brother",
      "sister",
      "mother",
      "Father",
      "grandson",
      "granddaughter",
      "niece",
      "nephew",
      "caregiver",
    ]) {
      one(`with ${w} Daniel Moss today`, "name:Daniel Moss");
    }
    one("her name is Oliver Bennett.", "name:Oliver Bennett");
    one("a dog named Rex.", "name:Rex");
    none("with son The");
    none("with son daniel");
    none("person Daniel Moss");
  });

  it("names with credentials: two or three parts, an initial in the middle of three", () => {
    for (const c of ["MD", "DO", "RN", "NP", "PA-C", "PA", "DNP", "PhD", "MBBS", "CNM", "CRNA", "LPN", "FNP", "ARNP", "FACP", "FACS"])
      one(`by Anna Lee, ${c} today`, "name:Anna Lee");
    one("by Walter P. Greene MD", "name:Walter P. Greene");
    one("Seen by Anna Lee, MD", "name:Anna Lee");
    one("Cardiology Anna Lee, MD", "name:Anna Lee");
    one("Nurse Practitioner Anna Lee, NP", "name:Practitioner Anna Lee");
    none("Internal Medicine, MD");
    none("by Anna, MD");
    none("by Anna Lee, MDX");
    none("Cardiology Internal Lee, MD");
    none("Anna Cardiology Lee, MD");
  });

  it("keeps the more specific finding where two overlap, and the longer one within a category", () => {
    assert.deepEqual(found("mail jane.doe@www.example.org now"), ["email:jane.doe@www.example.org"]);
    assert.deepEqual(found("Dr. Smith 12 Oak Dr. now"), ["name:Smith", "address:12 Oak Dr."]);
    assert.deepEqual(found("MRN 2024-03-14 x"), ["mrn:2024-03-14"]);
    assert.deepEqual(found("SSN 123-45-6789"), ["ssn:123-45-6789"]);
    assert.deepEqual(found("DOB 03/14/1931 age 93 yo"), ["date:03/14/1931", "age:93"]);
    assert.deepEqual(found("seen on March 14, 2024"), ["date:March 14, 2024"]);
    assert.deepEqual(found("Patient: Anna Lee, MD"), ["name:Anna Lee"]);
    assert.deepEqual(found("Pt: Smith, Anna Lee, MD"), ["name:Smith, Anna Lee"]);
    const spans = detectPhi("b@c.io a@b.io");
    assert.deepEqual(
      spans.map((s) => [s.start, s.end]),
      [
        [0, 6],
        [7, 13],
      ],
    );
  });
});

describe("PHI detector: scrubbing, counting and slicing", () => {
  it("labels every category for a clinician", () => {
    assert.deepEqual(PHI_CATEGORIES, ["name", "date", "age", "mrn", "phone", "email", "ssn", "address", "url"]);
    assert.deepEqual(PHI_LABELS, {
      name: "name",
      date: "date",
      age: "age over 89",
      mrn: "record or account number",
      phone: "phone or fax number",
      email: "email address",
      ssn: "Social Security number",
      address: "street address",
      url: "web address",
    });
  });

  it("scrubs spans given in any order and skips overlapping ones", () => {
    const text = "aa bb cc dd";
    const spans: PhiSpan[] = [
      { category: "date", start: 6, end: 8, text: "cc" },
      { category: "name", start: 0, end: 2, text: "aa" },
      { category: "url", start: 1, end: 4, text: "a b" },
    ];
    assert.equal(scrubPhi(text, spans), "[NAME] bb [DATE] dd");
    assert.equal(scrubPhi("Call 617-555-0142."), "Call [PHONE].");
    assert.equal(scrubPhi(""), "");
  });

  it("counts findings per category", () => {
    assert.deepEqual(countByCategory(detectPhi("Dr. Lee and Dr. Kim on 3/14/2024")), { name: 2, date: 1 });
    assert.deepEqual(countByCategory([]), {});
  });

  it("slices at line ends, reports progress, pauses between slices and stops when cancelled", async () => {
    const line = "Dr. Lee saw him on 03/14/2024.\n";
    const text = line.repeat(10);
    const progress: number[] = [];
    let pauses = 0;
    const spans = await detectPhiInSlices(text, { sliceChars: 40, pause: async () => void pauses++, onProgress: (f) => progress.push(f) });
    assert.deepEqual(spans, detectPhi(text));
    assert.equal(spans?.length, 20);
    assert.deepEqual(
      progress,
      Array.from({ length: 10 }, (_, i) => ((i + 1) * line.length) / text.length),
    );
    assert.equal(pauses, 9);
    let asked = 0;
    assert.equal(await detectPhiInSlices(text, { sliceChars: 40, pause: async () => undefined, isCancelled: () => ++asked >= 2 }), undefined);
    assert.equal(asked, 2);
    // A line longer than a slice is cut where the slice ends.
    const long = `${"x".repeat(50)} Dr. Lee`;
    assert.deepEqual(await detectPhiInSlices(long, { sliceChars: 1000 }), [{ category: "name", start: 55, end: 58, text: "Lee" }]);
    assert.deepEqual(await detectPhiInSlices(`${"x".repeat(18)} Dr. Lee`, { sliceChars: 20, pause: async () => undefined }), []);
    assert.deepEqual(await detectPhiInSlices("", {}), []);
    assert.deepEqual(await detectPhiInSlices("Dr. Lee\n", {}), [{ category: "name", start: 4, end: 7, text: "Lee" }]);
  });
});
