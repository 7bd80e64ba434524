import { writeScriptedChatModel } from "../e2e/chatScriptedModel";

/**
 * The sample note and the scripted "invents a dose" answer shared by the Draft from Note tests in VS Code
 * (test/integration/documents.test.ts) and in the browser (test/e2e/documents.test.ts).
 */

export const DRAFT_SAMPLE_NOTE = [
  "CHIEF COMPLAINT:",
  "Cough and fever for 3 days.",
  "",
  "HPI:",
  "54-year-old man with a productive cough and fever. No chest pain.",
  "",
  "MEDICATIONS:",
  "Lisinopril 5 mg daily.",
  "",
  "ALLERGIES:",
  "Penicillin (rash).",
  "",
  "PLAN:",
  "Chest x-ray. Follow up in two weeks.",
  "",
].join("\n");

/** The scripted model's answer to every field (50 mg where the note says 5 mg), one token per piece. */
export const INVENTED_DOSE_SCRIPT = ['{"', "text", '":"', "Keep ", "taking ", "lisinopril ", "50 ", "mg ", "daily", '."}'];

/** A scripted chat model that answers every field with INVENTED_DOSE_SCRIPT, written to `file`. */
export function writeInventedDoseModel(file: string): Promise<string> {
  return writeScriptedChatModel(file, {
    script: INVENTED_DOSE_SCRIPT,
    width: 64,
    layers: 2,
    ffn: 64,
    contextLength: 2048,
    chatTemplate: false,
    name: "bedside-scripted-draft",
  });
}
