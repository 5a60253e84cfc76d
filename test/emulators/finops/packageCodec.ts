/**
 * What F&O receives and sends: CSV entity files and data packages (a zip whose root holds
 * Manifest.xml and PackageHeader.xml, UTF-16 LE with a BOM, plus one file per entity). Parsing is
 * strict where the sources are (files at the root, both XML files present, every InputFilePath
 * present) and lenient where they are not (UTF-8 or UTF-16 XML, namespace prefixes, CSV with a BOM).
 */
import { PassThrough, type Readable } from "node:stream";
import { parse as parseCsvSync } from "csv-parse/sync";
import { stringify } from "csv-stringify";
import yauzl from "yauzl";
import yazl from "yazl";
import type { Row } from "./types.js";

export class PackageError extends Error {
  override name = "PackageError";
}

export interface ParsedEntityFile {
  entity: string;
  fileName: string;
  columns: string[];
  rows: Row[];
}

const NS = "http://schemas.microsoft.com/dynamics/2015/01/DataManagement";

/** A CSV entity file (header row, comma, optional UTF-8 BOM) → rows. */
export function parseCsv(data: Buffer, what: string): { columns: string[]; rows: Row[] } {
  if (data.length === 0) throw new PackageError(`${what} is empty`);
  try {
    const records = parseCsvSync(data, { bom: true, columns: true, skip_empty_lines: true, relax_column_count: false }) as Row[];
    const header = parseCsvSync(data, { bom: true, to_line: 1 }) as string[][];
    return { columns: header[0] ?? [], rows: records };
  } catch (err) {
    throw new PackageError(`${what} is not valid CSV: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The zip's entries by name. Entries in folders are refused (F&O wants the files at the root). */
export function readZip(data: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(data, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(new PackageError(`the package is not a zip file: ${err?.message ?? "unreadable"}`));
      const files = new Map<string, Buffer>();
      zip.on("error", (e: Error) => reject(new PackageError(`the package zip is damaged: ${e.message}`)));
      zip.on("end", () => resolve(files));
      zip.on("entry", (entry: yauzl.Entry) => {
        if (entry.fileName.endsWith("/")) return zip.readEntry();
        if (entry.fileName.includes("/")) {
          zip.close();
          return reject(new PackageError(`'${entry.fileName}' is inside a folder: the package's files must be at the root of the zip`));
        }
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(new PackageError(`cannot read '${entry.fileName}' in the package: ${e?.message}`));
          const chunks: Buffer[] = [];
          stream.on("data", (c: Buffer) => chunks.push(c));
          stream.on("error", (se: Error) => reject(new PackageError(`cannot read '${entry.fileName}': ${se.message}`)));
          stream.on("end", () => {
            files.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

/** Text of an XML file: UTF-16 LE/BE by BOM, UTF-8 with or without BOM. */
export function decodeXml(data: Buffer): string {
  if (data[0] === 0xff && data[1] === 0xfe) return data.subarray(2).toString("utf16le");
  if (data[0] === 0xfe && data[1] === 0xff) return Buffer.from(data.subarray(2)).swap16().toString("utf16le");
  if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) return data.subarray(3).toString("utf8");
  return data.toString("utf8");
}

function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) => ({ lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" })[e]!);
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!);
}

function elements(xml: string, tag: string): string[] {
  const re = new RegExp(`<(?:\\w+:)?${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:\\w+:)?${tag}>`, "g");
  return [...xml.matchAll(re)].map((m) => m[1]);
}

function text(xml: string, tag: string): string | undefined {
  const inner = elements(xml, tag)[0];
  return inner === undefined ? undefined : unescapeXml(inner.trim());
}

/** A data package → its entity files, parsed. */
export async function parsePackage(data: Buffer): Promise<ParsedEntityFile[]> {
  const files = await readZip(data);
  const find = (name: string) => [...files.keys()].find((k) => k.toLowerCase() === name.toLowerCase());
  const manifestName = find("Manifest.xml");
  const headerName = find("PackageHeader.xml");
  if (!manifestName) throw new PackageError("the package has no Manifest.xml at its root");
  if (!headerName) throw new PackageError("the package has no PackageHeader.xml at its root");
  if (!/<(?:\w+:)?DataManagementPackageHeader[\s>]/.test(decodeXml(files.get(headerName)!))) {
    throw new PackageError("PackageHeader.xml has no DataManagementPackageHeader element");
  }
  const manifest = decodeXml(files.get(manifestName)!);
  if (!/<(?:\w+:)?DataManagementPackageManifest[\s>]/.test(manifest)) throw new PackageError("Manifest.xml has no DataManagementPackageManifest element");
  const entities = elements(manifest, "DataManagementPackageEntityData");
  if (entities.length === 0) throw new PackageError("Manifest.xml lists no entity (PackageEntityList is empty)");
  return entities.map((block) => {
    const entity = text(block, "EntityName");
    const fileName = text(block, "InputFilePath");
    if (!entity) throw new PackageError("an entity in Manifest.xml has no EntityName");
    if (!fileName) throw new PackageError(`entity '${entity}' in Manifest.xml has no InputFilePath`);
    const format = (text(block, "SourceFormat") ?? "CSV").toUpperCase();
    if (format !== "CSV") throw new PackageError(`entity '${entity}' has SourceFormat ${format}; the emulator reads CSV only`);
    const stored = find(fileName);
    if (!stored) throw new PackageError(`entity '${entity}': its file '${fileName}' (InputFilePath) is not at the root of the package`);
    return { entity, fileName, ...parseCsv(files.get(stored)!, `'${fileName}'`) };
  });
}

/** UTF-16 LE with a BOM, as F&O writes Manifest.xml and PackageHeader.xml. */
export function utf16(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]);
}

export function packageHeaderXml(description: string): string {
  return `<?xml version="1.0" encoding="utf-16"?><DataManagementPackageHeader xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="${NS}">` +
    `<Description>${escapeXml(description)}</Description><ManifestType>Microsoft.Dynamics.AX.Framework.Tools.DataManagement.Serialization.DataManagementPackageManifest</ManifestType>` +
    `<PackageType>DefinitionGroup</PackageType><PackageVersion>1</PackageVersion></DataManagementPackageHeader>`;
}

export function manifestXml(project: string, entity: string, fileName: string, columns: string[]): string {
  const maps = columns.map((c, i) => `<EntityMap><ArrayIndex>${i}</ArrayIndex><EntityField>${escapeXml(c)}</EntityField><EntityFieldConversionList i:nil="true"/>` +
    `<IsAutoDefault>false</IsAutoDefault><IsAutoGenerated>false</IsAutoGenerated><IsDefaultValueEqualNull>false</IsDefaultValueEqualNull>` +
    `<UseTextQualifier>false</UseTextQualifier><XMLField>${escapeXml(c)}</XMLField></EntityMap>`).join("");
  return `<?xml version="1.0" encoding="utf-16"?><DataManagementPackageManifest xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="${NS}">` +
    `<DefinitionGroupName>${escapeXml(project)}</DefinitionGroupName><Description>${escapeXml(project)}</Description><PackageEntityList><DataManagementPackageEntityData>` +
    `<EntityMapList>${maps}</EntityMapList><EntityName>${escapeXml(entity)}</EntityName><EntityTransformList i:nil="true"/><ExcelSheetName/>` +
    `<ExecutionUnit>1</ExecutionUnit><FailExecutionUnitOnError>false</FailExecutionUnitOnError><FailLevelOnError>false</FailLevelOnError>` +
    `<InputFilePath>${escapeXml(fileName)}</InputFilePath><LevelInExecutionUnit>1</LevelInExecutionUnit><RunBusinessLogic>true</RunBusinessLogic>` +
    `<RunBusinessValidation>true</RunBusinessValidation><SampleFilePath/><SequenceInLevel>1</SequenceInLevel><SourceFormat>CSV</SourceFormat>` +
    `<ValidationStatus>Yes</ValidationStatus></DataManagementPackageEntityData></PackageEntityList></DataManagementPackageManifest>`;
}

/** Rows → CSV, generated as it is read (the header comes from the first row). */
export function csvStream(rows: readonly Row[], columns = rows[0] ? Object.keys(rows[0]) : []): Readable {
  const out = stringify({ header: true, columns, bom: false });
  let i = 0;
  // Feed the stringifier only as fast as the reader drains it, so 100,000 rows never sit in memory twice.
  const pump = () => {
    while (i < rows.length) {
      if (!out.write(rows[i++])) return void out.once("drain", pump);
    }
    out.end();
  };
  pump();
  return out;
}

export function entityFileName(entity: string): string {
  return `${entity}.csv`;
}

/** A data package (or, with `bare`, a zip of the CSV alone), streamed. */
export function zipStream(entity: string, rows: readonly Row[], options: { project?: string; bare?: boolean } = {}): Readable {
  const zip = new yazl.ZipFile();
  const fileName = entityFileName(entity);
  const columns = rows[0] ? Object.keys(rows[0]) : [];
  if (!options.bare) {
    zip.addBuffer(utf16(manifestXml(options.project ?? entity, entity, fileName, columns)), "Manifest.xml");
    zip.addBuffer(utf16(packageHeaderXml(options.project ?? entity)), "PackageHeader.xml");
  }
  zip.addReadStream(csvStream(rows, columns), fileName);
  zip.end();
  const out = new PassThrough();
  return zip.outputStream.pipe(out);
}

/** A small helper for tests and the blob store: read a stream to one Buffer. */
export async function toBuffer(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks);
}
