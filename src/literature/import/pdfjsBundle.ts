/**
 * Mozilla's pdf.js (pdfjs-dist, legacy build for Node) with its worker code run in this thread: the
 * extension host has no DOM Worker, and pdf.js uses a module it finds on `globalThis.pdfjsWorker` instead
 * of loading a worker file. No native module is loaded: the optional canvas package is only for
 * rendering, which Bedside does not do (pdfjsGlobals.ts stands in for the one thing it is asked for at load).
 *
 * esbuild builds this file on its own into dist/pdfjs.js, loaded the first time a PDF is imported, so
 * the 3 MB of pdf.js are not parsed at every activation (esbuild.mjs). Only pdfText.ts imports it.
 */
import { takeBackGlobals } from "./pdfjsGlobals";
import * as pdfjs from "pdfjs-dist/legacy/build/pdf.mjs";
import * as worker from "pdfjs-dist/legacy/build/pdf.worker.mjs";

takeBackGlobals();
(globalThis as { pdfjsWorker?: unknown }).pdfjsWorker ??= worker;

export const getDocument = pdfjs.getDocument;
export const VerbosityLevel = pdfjs.VerbosityLevel;
