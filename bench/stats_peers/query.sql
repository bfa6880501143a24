-- query.sql - the cluster report aggregation of src/stats/report.c in SQL, for the peer
-- comparison (bench/stats_peers/run.sh). Same rules: period [2025-01-01, 2026-01-01),
-- five-year window from 2021-01-01, diagnosis prefix T90 with dots ignored, latest systolic
-- value in the period (equal times: the higher value), check-ups in the period, cluster 1.
-- Times are Unix seconds: 1735689600 = 2025-01-01, 1767225600 = 2026-01-01,
-- 1609459200 = 2021-01-01.
WITH lp AS (
  SELECT p.id, p.clinic FROM patients p JOIN clinics c ON c.id = p.clinic
  WHERE c.cluster = 1 AND p.list_from < 1767225600 AND p.list_to > 1735689600),
dg AS (
  SELECT DISTINCT d.patient FROM diagnoses d JOIN lp ON lp.id = d.patient
  WHERE d.time >= 1609459200 AND d.time < 1767225600
    AND replace(upper(d.code), '.', '') LIKE 'T90%'),
obs AS (
  SELECT o.patient, o.time, o.value FROM observations o JOIN dg ON dg.patient = o.patient
  WHERE o.kind = 1 AND o.time >= 1735689600 AND o.time < 1767225600),
lt AS (SELECT patient, max(time) AS t FROM obs GROUP BY patient),
lat AS (
  SELECT obs.patient, max(obs.value) AS v FROM obs JOIN lt ON lt.patient = obs.patient
  AND lt.t = obs.time GROUP BY obs.patient),
ck AS (
  SELECT DISTINCT c.patient FROM checkups c JOIN dg ON dg.patient = c.patient
  WHERE c.time >= 1735689600 AND c.time < 1767225600)
SELECT lp.clinic, count(*) AS listed, count(dg.patient) AS diagnosed,
  sum(CASE WHEN dg.patient IS NOT NULL AND lat.v < 130 THEN 1 ELSE 0 END) AS b1,
  sum(CASE WHEN dg.patient IS NOT NULL AND lat.v >= 130 AND lat.v < 140 THEN 1 ELSE 0 END) AS b2,
  sum(CASE WHEN dg.patient IS NOT NULL AND lat.v >= 140 AND lat.v < 150 THEN 1 ELSE 0 END) AS b3,
  sum(CASE WHEN dg.patient IS NOT NULL AND lat.v >= 150 AND lat.v < 160 THEN 1 ELSE 0 END) AS b4,
  sum(CASE WHEN dg.patient IS NOT NULL AND lat.v >= 160 THEN 1 ELSE 0 END) AS b5,
  sum(CASE WHEN dg.patient IS NOT NULL AND lat.v IS NULL THEN 1 ELSE 0 END) AS nosbp,
  count(ck.patient) AS checkup
FROM lp LEFT JOIN dg ON dg.patient = lp.id LEFT JOIN lat ON lat.patient = lp.id
  LEFT JOIN ck ON ck.patient = lp.id
GROUP BY lp.clinic ORDER BY lp.clinic;
