/**
 * The document types Bedside drafts out of the box, written in the same template syntax as the user's own
 * (templates.ts). Patient documents ask for plain language at a 6th to 8th grade reading level, as
 * health-literacy guidance recommends; the grade is shown, not enforced. Pure.
 */
import { parseTemplate, type DocumentTemplate } from "./templates";

export const BUILTIN_TEMPLATE_TEXTS: Readonly<Record<string, string>> = {
  "after-visit-summary": `---
title: After-Visit Summary
audience: patient
description: For the patient, in plain language: why they came, what was found, what to do next.
---
# After-Visit Summary

## Why you came in
{{reason: Why the patient came in today, in one or two plain sentences.}}

## What we found
{{findings: What the visit found (exam, tests, diagnosis), in plain words the patient understands.}}

## Your medicines
{{medicines[]: Each medicine the note says to take, start, change or stop, with its dose as the note gives it.}}

## What to do next
{{nextSteps[]: Each thing the patient should do next: tests, follow-up, self-care, as the note says.}}

## When to get help
{{warningSigns: Signs that mean the patient should call or come back, only those the note gives.}}
`,
  "referral-letter": `---
title: Referral Letter
audience: clinician
description: To a colleague: the question, the history, findings, medicines and allergies.
---
# Referral Letter

Dear colleague,

{{question: The reason for referral and the question for the specialist, in one or two sentences.}}

**History:** {{history: The relevant history of the present illness and past history, briefly.}}

**Findings:** {{findings: The relevant examination and test results, with values as in the note.}}

**Medicines:** {{medicines: The current medicines with doses, as the note lists them.}}

**Allergies:** {{allergies: The allergies as the note records them.}}

Thank you for seeing this patient.
`,
  "patient-instructions": `---
title: Patient Instructions
audience: patient
description: For the patient: what to do at home, in plain language.
---
# Your Instructions

{{summary: What this visit was about, in one plain sentence.}}

## What to do
{{instructions[]: Each instruction the note gives the patient, in plain words.}}

## Your medicines
{{medicines[]: Each medicine to take, with its dose and how often, as the note says.}}

## Call us if
{{warningSigns: Signs that mean the patient should call, only those the note gives.}}
`,
  "discharge-instructions": `---
title: Discharge Instructions
audience: patient
description: For the patient leaving hospital: diagnosis, medicines, activity, follow-up.
---
# Discharge Instructions

## Why you were in hospital
{{diagnosis: The diagnosis and what was done in hospital, in plain words.}}

## Your medicines
{{medicines[]: Each medicine to take at home, with its dose, and any to stop, as the note says.}}

## Activity and diet
{{activity: What the patient may and may not do, and what to eat, as the note says.}}

## Follow-up
{{followUp[]: Each follow-up visit or test the note gives.}}

## Come back if
{{warningSigns: Signs that mean the patient should return, only those the note gives.}}
`,
};

export function builtinTemplates(): DocumentTemplate[] {
  return Object.entries(BUILTIN_TEMPLATE_TEXTS).map(([name, text]) => parseTemplate(text, `builtin:${name}`, "builtin"));
}

/** The sample a user copies to write their own (also the file "Bedside: Draft from Note…" offers to create). */
export const SAMPLE_TEMPLATE = `---
title: Work Note
audience: patient
description: A note for an employer: why the patient was seen, time off work and restrictions.
---
<!--
  A Bedside document template. Each {{name: instruction}} is a field the model fills from the note, with its
  own short prompt; {{name[]: instruction}} is a list (one "- item" per line). Everything else is kept as
  written. Put templates in .bedside/templates/ in the workspace, or in your user templates folder.
-->
# Work Note

To whom it may concern,

{{reason: Why the patient was seen, in one plain sentence without private medical detail.}}

## Time off work
{{timeOff: The dates or length of time off work the note gives, if any.}}

## Restrictions
{{restrictions[]: Each work restriction the note states, one per item.}}
`;
