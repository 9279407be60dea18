// Replaced by the embedded-Postgres setup once the database layer lands.
export default async function setup(): Promise<void> {
  return;
}
