// Finding a customer offline among the pulled dossier summaries: by 户号, 户名 or address, or
// the nearest to the tablet's position. Pure functions over plain objects.

function norm (text) {
  return String(text || '').replace(/\s+/g, '').toLowerCase()
}

/** Dossiers matching every word of ``query``; 户号 prefix matches first, then by name. */
export function search (dossiers, query, limit = 50) {
  const words = String(query || '').trim().split(/\s+/).filter(Boolean).map(norm)
  if (!words.length) return dossiers.slice(0, limit)
  const scored = []
  for (const d of dossiers) {
    const hay = norm(d.account_no) + '|' + norm(d.name) + '|' + norm(d.address) + '|' + norm(d.archive_no)
    if (!words.every((w) => hay.includes(w))) continue
    const rank = words.some((w) => String(d.account_no).startsWith(w)) ? 0 : norm(d.name).includes(words[0]) ? 1 : 2
    scored.push([rank, d])
  }
  scored.sort((a, b) => a[0] - b[0] || String(a[1].name).localeCompare(String(b[1].name), 'zh-CN'))
  return scored.slice(0, limit).map(([, d]) => d)
}

/** Great-circle distance in metres. */
export function distanceM (lat1, lon1, lat2, lon2) {
  const rad = Math.PI / 180
  const dLat = (lat2 - lat1) * rad
  const dLon = (lon2 - lon1) * rad
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2
  return 2 * 6371000 * Math.asin(Math.min(1, Math.sqrt(a)))
}

/** Dossiers with a position, nearest first, each with ``distance_m``. */
export function nearest (dossiers, latitude, longitude, limit = 20) {
  return dossiers
    .filter((d) => typeof d.latitude === 'number' && typeof d.longitude === 'number')
    .map((d) => ({ ...d, distance_m: distanceM(latitude, longitude, d.latitude, d.longitude) }))
    .sort((a, b) => a.distance_m - b.distance_m)
    .slice(0, limit)
}

/** A 户号 as the server accepts it: 6–20 digits. */
export function isAccountNo (text) {
  return /^\d{6,20}$/.test(String(text || '').trim())
}
