import { AppError } from "../errors/api-errors.ts";

export type ImportFormat = "ndjson" | "csv";

/** One record of an import file: its line (1-based, where it starts) and its fields by name. */
export type FileRecord =
  | { line: number; fields: Record<string, unknown> }
  | { line: number; error: string };

export type FileLimits = {
  /** The whole body (IMPORT_MAX_BYTES): beyond it the upload is refused with 413. */
  maxBytes: number;
  /** One record: beyond it that record is rejected, and the rest of the file still read. */
  maxRecordBytes: number;
  /** Records in one file: beyond it the upload is refused with 413. */
  maxRecords: number;
};

/**
 * The records of an NDJSON or CSV body, read as it arrives: only the record being read is held,
 * never the file. NDJSON: one JSON object a line, blank lines skipped. CSV (RFC 4180): a header
 * line naming the columns, then one record a line; quoted fields may hold commas, quotes (doubled)
 * and line breaks; empty fields are left out.
 */
export async function* readImportFile(
  body: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  format: ImportFormat,
  limits: FileLimits,
): AsyncGenerator<FileRecord> {
  const decoder = new TextDecoder("utf-8", { fatal: false });
  const splitter = format === "csv" ? csvSplitter(limits) : ndjsonSplitter(limits);
  let bytes = 0;
  let records = 0;
  const count = function* (items: Iterable<FileRecord>) {
    for (const item of items) {
      if (++records > limits.maxRecords) {
        throw new AppError("PAYLOAD_TOO_LARGE", `The file has more than ${limits.maxRecords} rows`);
      }
      yield item;
    }
  };
  for await (const chunk of body) {
    const text = typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    bytes += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.byteLength;
    if (bytes > limits.maxBytes) {
      throw new AppError("PAYLOAD_TOO_LARGE", `The file is larger than ${limits.maxBytes} bytes`);
    }
    yield* count(splitter.push(text));
  }
  yield* count(splitter.push(decoder.decode()));
  yield* count(splitter.end());
}

type Splitter = { push(text: string): Iterable<FileRecord>; end(): Iterable<FileRecord> };

const tooLong = (line: number, max: number): FileRecord => ({
  line,
  error: `VALIDATION_ERROR: The row is longer than ${max} bytes`,
});

function ndjsonSplitter({ maxRecordBytes }: FileLimits): Splitter {
  let pending = "";
  let skipping = false;
  let line = 0;
  function* complete(text: string): Iterable<FileRecord> {
    line++;
    if (skipping) {
      skipping = false;
      yield tooLong(line, maxRecordBytes);
      return;
    }
    if (text.trim() === "") return;
    yield parseNdjsonLine(line, text);
  }
  return {
    *push(text) {
      let start = 0;
      for (let end = text.indexOf("\n"); end !== -1; end = text.indexOf("\n", start)) {
        yield* complete(pending + text.slice(start, end));
        pending = "";
        start = end + 1;
      }
      if (!skipping) pending += text.slice(start);
      if (pending.length > maxRecordBytes) {
        skipping = true;
        pending = "";
      }
    },
    *end() {
      if (pending !== "" || skipping) yield* complete(pending);
    },
  };
}

function parseNdjsonLine(line: number, text: string): FileRecord {
  try {
    // A line is at most maxRecordBytes long, so its nesting is bounded too.
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return { line, error: "VALIDATION_ERROR: Each line must be one JSON object" };
    }
    return { line, fields: value as Record<string, unknown> };
  } catch {
    return { line, error: "VALIDATION_ERROR: The line is not valid JSON" };
  }
}

const MAX_CSV_COLUMNS = 32;

function csvSplitter({ maxRecordBytes }: FileLimits): Splitter {
  let header: string[] | undefined;
  let fields: string[] = [];
  let field = "";
  let size = 0;
  let inQuotes = false;
  let quoteSeen = false;
  let line = 1;
  let recordLine = 1;
  let tooBig = false;
  let any = false;

  function finishRecord(): FileRecord | undefined {
    fields.push(field);
    const record = fields;
    const start = recordLine;
    const wasTooBig = tooBig;
    fields = [];
    field = "";
    size = 0;
    tooBig = false;
    any = false;
    recordLine = line;
    if (wasTooBig) return tooLong(start, maxRecordBytes);
    if (!header) {
      header = record.map((name) => name.trim());
      if (header.length > MAX_CSV_COLUMNS || header.some((name) => name === "")) {
        throw new AppError("VALIDATION_ERROR", "The CSV header must name up to 32 columns");
      }
      return undefined;
    }
    if (record.length === 1 && record[0] === "") return undefined;
    if (record.length !== header.length) {
      return {
        line: start,
        error: `VALIDATION_ERROR: The row has ${record.length} fields, the header ${header.length}`,
      };
    }
    const named: Record<string, unknown> = {};
    header.forEach((name, i) => {
      const value = record[i];
      if (value !== undefined && value !== "") named[name] = value;
    });
    return { line: start, fields: named };
  }

  return {
    *push(text) {
      for (let i = 0; i < text.length; i++) {
        const c = text[i] as string;
        any = true;
        if (++size > maxRecordBytes) tooBig = true;
        if (inQuotes) {
          if (c === '"') {
            inQuotes = false;
            quoteSeen = true;
          } else {
            if (c === "\n") line++;
            if (!tooBig) field += c;
          }
          continue;
        }
        if (c === '"') {
          // A doubled quote inside a quoted field is one quote.
          if (quoteSeen && !tooBig) field += '"';
          inQuotes = true;
          quoteSeen = false;
        } else if (c === ",") {
          if (fields.length >= MAX_CSV_COLUMNS) tooBig = true;
          else fields.push(field);
          field = "";
          quoteSeen = false;
        } else if (c === "\n") {
          line++;
          if (field.endsWith("\r")) field = field.slice(0, -1);
          quoteSeen = false;
          const record = finishRecord();
          if (record) yield record;
        } else {
          quoteSeen = false;
          if (!tooBig) field += c;
        }
      }
    },
    *end() {
      if (inQuotes) {
        yield { line: recordLine, error: "VALIDATION_ERROR: A quoted field is not closed" };
        return;
      }
      if (any) {
        const record = finishRecord();
        if (record) yield record;
      }
      if (!header) throw new AppError("VALIDATION_ERROR", "The CSV file has no header line");
    },
  };
}
