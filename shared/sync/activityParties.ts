import { PARTY_ROLES, type ActivityMapping, type ActivityType } from "../config/activityMapping.js";
import type { DataverseClient } from "../ports.js";

/** E-mail addresses per `systemusers` query (`internalemailaddress eq '…' or …`: about 4 KB of URL). */
const USERS_PER_QUERY = 50;

/**
 * Dataverse users by e-mail address, cached for one run: each address is looked up once, and all
 * the addresses a batch of activities needs are looked up together (never one query per activity).
 */
export class UserDirectory {
  private readonly byEmail = new Map<string, string | null>();
  queries = 0;

  constructor(private readonly dataverse: DataverseClient) {}

  /** Looks up every address not seen yet, USERS_PER_QUERY to a request. */
  async resolve(emails: Iterable<string>): Promise<void> {
    const missing = [...new Set([...emails].map(normalEmail).filter((e) => e && !this.byEmail.has(e)))];
    for (let i = 0; i < missing.length; i += USERS_PER_QUERY) {
      const chunk = missing.slice(i, i + USERS_PER_QUERY);
      for (const e of chunk) this.byEmail.set(e, null);
      const filter = chunk.map((e) => `internalemailaddress eq '${e.replace(/'/g, "''")}'`).join(" or ");
      this.queries += 1;
      for await (const rows of this.dataverse.query("systemusers", { select: ["systemuserid", "internalemailaddress"], filter })) {
        for (const row of rows) {
          const email = normalEmail(row.internalemailaddress);
          if (email && typeof row.systemuserid === "string") this.byEmail.set(email, row.systemuserid);
        }
      }
    }
  }

  /** The user's id, null when no user has the address; undefined when it was never resolved. */
  userOf(email: string): string | null | undefined {
    return this.byEmail.get(normalEmail(email));
  }
}

function normalEmail(v: unknown): string {
  return typeof v === "string" ? v.trim().toLowerCase() : "";
}

/** The e-mail addresses one activity's parties name. */
export function partyEmails(t: ActivityType, data: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const p of t.parties) {
    if (p.userEmailField && typeof data[p.userEmailField] === "string") out.push(data[p.userEmailField] as string);
    if (p.userEmailsField && Array.isArray(data[p.userEmailsField])) out.push(...(data[p.userEmailsField] as unknown[]).filter((e): e is string => typeof e === "string"));
  }
  return out.filter((e) => e.trim() !== "");
}

/**
 * The activity's party list for deep insert (`<table>_activity_parties`). An address no user has
 * becomes an unresolved party (`addressused` only) on an e-mail, and is dropped with a note on the
 * other types (product.md).
 */
export function partyList(t: ActivityType, data: Record<string, unknown>, contact: { entitySet: string; id: string }, users: UserDirectory, notes: string[]): Record<string, unknown>[] {
  const parties: Record<string, unknown>[] = [];
  for (const p of t.parties) {
    const participationtypemask = PARTY_ROLES[p.role];
    if (p.regarding) {
      parties.push({ participationtypemask, "partyid_contact@odata.bind": `/${contact.entitySet}(${contact.id})` });
      continue;
    }
    const raw = p.userEmailField ? [data[p.userEmailField]] : Array.isArray(data[p.userEmailsField!]) ? (data[p.userEmailsField!] as unknown[]) : [];
    for (const email of raw) {
      if (typeof email !== "string" || !email.trim()) continue;
      const user = users.userOf(email);
      if (user) parties.push({ participationtypemask, "partyid_systemuser@odata.bind": `/systemusers(${user})`, addressused: email.trim() });
      else if (t.table === "email") parties.push({ participationtypemask, addressused: email.trim() });
      else notes.push(`no Dataverse user has the address given for the ${p.role} party; it was left out`);
    }
  }
  return parties;
}

/** `ownerid@odata.bind` for the mapping's default owner (absent: the integration user owns it). */
export function ownerBind(m: ActivityMapping): Record<string, string> {
  if (!m.owner) return {};
  return "team" in m.owner ? { "ownerid@odata.bind": `/teams(${m.owner.team})` } : { "ownerid@odata.bind": `/systemusers(${m.owner.systemuser})` };
}
