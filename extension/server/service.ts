/*
 * The seam between the server and the pure language service in engine/lang. The server only ever
 * calls this interface: one plain function per feature, over the document's text and file name, as
 * vscode-css-languageservice does. A new feature (completion, hover, symbols...) adds its method
 * here, its conversion in convert.ts and one guarded handler in server.ts. Tests inject their own.
 */
import type { Diagnostic } from '../../engine/lang/diagnostics';
import { diagnose } from '../../engine/lang/service';

export interface LanguageService {
  /** Every problem in `source`; never throws (the server guards it all the same). */
  diagnose(source: string, fileName: string): Diagnostic[];
}

export const kmemLanguageService: LanguageService = { diagnose };
