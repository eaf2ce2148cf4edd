// 1 → 2: devices may enroll themselves with a one-time password (the enrollment API): a list of those enrollments.
// Devices of schema 1 all came with a connection package.

export function migration002(doc: Record<string, unknown>): Record<string, unknown> {
  if (doc.deviceEnrollments === undefined) doc.deviceEnrollments = []
  doc.schemaVersion = 2
  return doc
}
