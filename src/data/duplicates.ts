/**
 * Byte-identical images inside one dataset and across datasets, found by
 * content hash. BrainMRI and Br35H share most of their images under new
 * names, so results on the two are not independent; this makes it visible.
 */
export interface DuplicateMember {
  dataset: string;
  id: string;
}

export interface DuplicateGroup {
  /** sha256 shared by every member. */
  hash: string;
  /** Two or more members, in input order. */
  members: DuplicateMember[];
}

export function findDuplicates(
  datasets: { dataset: string; samples: { id: string; imageHash: string }[] }[],
): DuplicateGroup[] {
  const byHash = new Map<string, DuplicateMember[]>();
  for (const d of datasets) {
    for (const s of d.samples) {
      const list = byHash.get(s.imageHash) ?? [];
      list.push({ dataset: d.dataset, id: s.id });
      byHash.set(s.imageHash, list);
    }
  }
  return [...byHash]
    .filter(([, members]) => members.length > 1)
    .map(([hash, members]) => ({ hash, members }));
}

/** Groups whose members come from more than one dataset. */
export function crossDatasetDuplicates(groups: DuplicateGroup[]): DuplicateGroup[] {
  return groups.filter((g) => new Set(g.members.map((m) => m.dataset)).size > 1);
}
