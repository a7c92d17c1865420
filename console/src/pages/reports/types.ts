/** The report shapes the page reads (`format=json`), as collector/src/reports/{quality,perimeter}/data.ts build them. */

type Crit = 'P1' | 'P2' | 'P3' | 'P4';

/** One period of the service-quality report. */
export interface QualityPeriod {
  from: number;
  to: number;
  incidents: number;
  byCriticality: Record<Crit, number>;
  acknowledged: number;
  resolved: number;
  mttaMs: number | null;
  mttrMs: number | null;
  sla: { criticality: string; withSla: number; compliance: number | null }[];
  breaches: { response: number; resolution: number };
  penalty: { currency: string; amount: number } | null;
  topRules: { rule: string; count: number }[];
}

export interface QualityReport {
  clientId: string;
  clientName: string;
  generatedAt: number;
  current: QualityPeriod;
  previous: QualityPeriod;
}

export interface PerimeterReport {
  title: string;
  generatedAt: number;
  summary: {
    machines: number;
    obsolete: number;
    endOfLifeOs: number;
    withCriticalPatches: number;
    avExpiring30: number;
    avExpiring60: number;
    avExpiring90: number;
    avDisabled: number;
  };
  machines: {
    deviceId: string;
    agentId: string;
    hostname: string;
    manufacturer: string;
    model: string;
    ageYears: number | null;
    obsolete: boolean;
    os: string;
    osEndOfLife: boolean;
    pendingPatches: number;
    pendingSecurity: number;
    antivirus: { product: string; enabled: boolean | null; upToDate: boolean | null }[];
  }[];
}
