import * as assert from "node:assert/strict";
import { caseToNote, diagnosisMatches, diagnosisNames } from "../../eval/ddx.eval";
import { findSections } from "../../../src/notes/noteSections";

describe("ddx eval: AgentClinic cases as notes, normalised diagnosis matching", () => {
  const osce = {
    Objective_for_Doctor: "Assess and diagnose.",
    Patient_Actor: {
      Demographics: "35-year-old female",
      History: "One month of double vision.",
      Symptoms: { Primary_Symptom: "Double vision", Secondary_Symptoms: ["Weakness in upper limbs"] },
      Past_Medical_History: "None.",
      Social_History: "Non-smoker.",
      Review_of_Systems: "No chest pain.",
    },
    Physical_Examination_Findings: {
      Vital_Signs: { Temperature: "36.6°C", Heart_Rate: "72 bpm" },
      Neurological_Examination: { Cranial_Nerves: "Ptosis of the right upper eyelid that worsens with sustained upward gaze.", Reflexes: "Normal." },
    },
    Test_Results: { Electromyography: { Findings: "Decrement with repetitive stimulation." } },
    Correct_Diagnosis: "Myasthenia gravis",
  };

  it("turns a case into a sectioned note that never contains the answer", () => {
    const note = caseToNote(osce);
    assert.doesNotMatch(note, /myasthenia/i);
    assert.doesNotMatch(note, /Assess and diagnose/);
    const sections = findSections(note.split("\n")).map((s) => s.name);
    assert.deepEqual(sections, [
      "CHIEF COMPLAINT",
      "HISTORY OF PRESENT ILLNESS",
      "PAST MEDICAL HISTORY",
      "SOCIAL HISTORY",
      "REVIEW OF SYSTEMS",
      "PHYSICAL EXAMINATION",
      "TEST RESULTS",
    ]);
    assert.match(note, /Vital Signs: Temperature 36.6°C, Heart Rate 72 bpm\./);
    assert.match(note, /- Cranial Nerves: Ptosis of the right upper eyelid/);
    assert.match(note, /Electromyography: Decrement with repetitive stimulation\./);
    assert.match(note, /- Weakness in upper limbs/);
  });

  it("matches diagnoses by normalised name, abbreviation and word-bounded containment", () => {
    assert.deepEqual(diagnosisNames("Progressive multifocal encephalopathy (PML)"), ["progressive multifocal encephalopathy pml", "progressive multifocal encephalopathy", "pml"]);
    assert.ok(diagnosisMatches("myasthenia gravis", "Myasthenia gravis"));
    assert.ok(diagnosisMatches("PML", "Progressive multifocal encephalopathy (PML)"));
    assert.ok(diagnosisMatches("Acute interstitial nephritis, drug induced", "Acute interstitial nephritis"));
    assert.ok(diagnosisMatches("Congenital rubella", "Congenital Rubella Infection"));
    assert.ok(diagnosisMatches("Hirschsprung's disease", "Hirschsprung disease"));
    assert.ok(!diagnosisMatches("infection", "Congenital Rubella Infection"), "one generic word is not a match");
    assert.ok(!diagnosisMatches("nephritis", "Acute interstitial nephritis"));
    assert.ok(!diagnosisMatches("Lambert-Eaton syndrome", "Myasthenia gravis"));
    assert.ok(!diagnosisMatches("", "Myasthenia gravis"));
  });
});
