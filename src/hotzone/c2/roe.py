"""Rules of engagement as data: every proposal lists each check and its result.

A proposal failing any check is never approvable (`hotzone.c2.authority` refuses it), so
the checks are evaluated when the proposal is made (shown to the operator) and again when
an order would be issued (the situation or the rules may have changed in between).
"""

from __future__ import annotations

from hotzone.c2.config import AreaSpec, C2Spec, EffectorSpec, SectorRoe, WeaponControlStatus
from hotzone.geo.borders import country_of
from hotzone.geo.fences import PolygonFence
from hotzone.types import Assessment, EffectClass, GeoPoint, RoeCheck, StandardIdentity, Track

_ENGAGEABLE = {
    WeaponControlStatus.FREE: {StandardIdentity.HOSTILE, StandardIdentity.SUSPECT},
    WeaponControlStatus.TIGHT: {StandardIdentity.HOSTILE},
    WeaponControlStatus.HOLD: set(),
}


def _fence(area: AreaSpec) -> PolygonFence:
    lats = [lat for lat, _ in area.points]
    lons = [lon for _, lon in area.points]
    return PolygonFence.from_vertices(lats, lons, area.name)


class RoeChecker:
    """Evaluates the rules of engagement of the track's sector for one effect."""

    def __init__(self, spec: C2Spec) -> None:
        self.spec = spec
        # Fences are built once: projecting an area is the expensive part.
        self._fences: dict[tuple[str, str, str], PolygonFence] = {}

    def _area_fence(self, roe: SectorRoe, kind: str, area: AreaSpec) -> PolygonFence:
        key = (roe.sector, kind, area.name)
        if key not in self._fences:
            self._fences[key] = _fence(area)
        return self._fences[key]

    def check(
        self,
        effector: EffectorSpec,
        track: Track,
        assessment: Assessment,
        aim_point: GeoPoint,
    ) -> tuple[RoeCheck, ...]:
        roe = self.spec.roe_for(track.sector)
        if roe is None:
            return (RoeCheck("sector_roe", False, f"no rules of engagement for {track.sector!r}"),)
        checks = [RoeCheck("sector_roe", True, f"rules of sector {roe.sector!r}")]
        checks.append(self._weapon_control(roe, effector, assessment))
        checks.append(
            RoeCheck(
                "protected_identity",
                assessment.standard_identity not in roe.protected_identities,
                f"identity {assessment.standard_identity}",
            )
        )
        checks.append(
            RoeCheck(
                "protected_class",
                assessment.target_class not in roe.protected_classes,
                f"class {assessment.target_class}",
            )
        )
        checks.append(self._territory(roe, track.position, aim_point))
        checks.append(self._no_fire(roe, track.position, aim_point))
        checks.append(self._corridors(roe, track.position, aim_point))
        return tuple(checks)

    def _weapon_control(
        self, roe: SectorRoe, effector: EffectorSpec, assessment: Assessment
    ) -> RoeCheck:
        status = roe.weapon_control_status
        if effector.effect_class is EffectClass.CUE:
            return RoeCheck("weapon_control_status", True, f"{status}: cueing is always allowed")
        allowed = assessment.standard_identity in _ENGAGEABLE[status]
        return RoeCheck(
            "weapon_control_status",
            allowed,
            f"weapons {status}: {assessment.standard_identity} "
            + ("may be engaged" if allowed else "may not be engaged"),
        )

    def _territory(self, roe: SectorRoe, position: GeoPoint, aim_point: GeoPoint) -> RoeCheck:
        codes = country_of(
            [position.lat_deg, aim_point.lat_deg], [position.lon_deg, aim_point.lon_deg]
        )
        outside = sorted({str(code) or "sea/off map" for code in codes} - set(roe.own_countries))
        if outside:
            return RoeCheck(
                "own_territory",
                False,
                f"effect would reach {', '.join(outside)}: not own territory",
            )
        return RoeCheck("own_territory", True, f"within {', '.join(roe.own_countries)}")

    def _no_fire(self, roe: SectorRoe, position: GeoPoint, aim_point: GeoPoint) -> RoeCheck:
        for area in roe.no_fire_areas:
            inside = self._area_fence(roe, "nfa", area).contains(
                [position.lat_deg, aim_point.lat_deg], [position.lon_deg, aim_point.lon_deg]
            )
            if inside.any():
                return RoeCheck("no_fire_area", False, f"inside no-fire area {area.name!r}")
        return RoeCheck("no_fire_area", True, "outside every no-fire area")

    def _corridors(self, roe: SectorRoe, position: GeoPoint, aim_point: GeoPoint) -> RoeCheck:
        for area in roe.civil_air_corridors:
            inside = self._area_fence(roe, "corridor", area).contains(
                [position.lat_deg, aim_point.lat_deg], [position.lon_deg, aim_point.lon_deg]
            )
            heights = (position.height_m, aim_point.height_m)
            for index, height in enumerate(heights):
                if inside[index] and area.min_height_m <= height <= area.max_height_m:
                    return RoeCheck(
                        "civil_air_corridor", False, f"inside civil air corridor {area.name!r}"
                    )
        return RoeCheck("civil_air_corridor", True, "clear of civil air corridors")
