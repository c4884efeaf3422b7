"""Twelve state profiles, answered from public policy facts as we understand them (late 2024).

Each is a respondent's plausible reading, not an official rating: where the public record was
unclear to us the persona answers "not-sure", as a real respondent would. The `basis` comments
name the facts each answer rests on. `priority`, for the one-priority run, is a condition the
persona placed at its lowest stage on which the state had public activity (a lawsuit, a task
force, a bill): the case priorities are for, choosing among conditions the answers tie.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Persona:
    state: str
    answers: dict[str, str]
    priority: str


PERSONAS = [
    # New Hampshire: competencies required in every district since the 2005 minimum standards
    # (Ed 306.27); PACE performance assessment, evaluated and run under a federal waiver; the IHE
    # Network (2011) linking preparation, induction and professional learning; Learn Everywhere
    # (2019) credit for learning outside school; no state profile of a graduate, many local ones.
    Persona(
        "NH",
        {
            "vision-statewide": "not-started",
            "vision-local": "many",
            "leadership": "backed",
            "educator-supports": "network",
            "competencies": "most",
            "whole-child": "not-started",
            "pathways": "diploma-credit",
            "innovation-flexibility": "standing",
            "innovation-spread": "evaluated",
            "funding": "not-started",
            "school-improvement": "allowed",
            "assessment": "evaluated",
            "assessment-literacy": "cohorts",
            "measurement": "not-started",
        },
        priority="responsive-funding-systems",
    ),
    # Vermont: Act 77 (2013) flexible pathways open to every student, with personalized learning
    # plans and dual-enrolment vouchers; proficiency-based graduation requirements in the 2014
    # Education Quality Standards; a state Portrait of a Graduate adopted with local portraits.
    Persona(
        "VT",
        {
            "vision-statewide": "adopted",
            "vision-local": "many",
            "leadership": "backed",
            "educator-supports": "pilot-training",
            "competencies": "most",
            "whole-child": "not-sure",
            "pathways": "guaranteed",
            "innovation-flexibility": "standing",
            "innovation-spread": "not-sure",
            "funding": "not-started",
            "school-improvement": "allowed",
            "assessment": "interim",
            "assessment-literacy": "not-sure",
            "measurement": "readiness",
        },
        priority="responsive-funding-systems",
    ),
    # Kentucky: United We Learn vision (2022) and its council; Portrait of a Learner in well over a
    # quarter of districts; Districts of Innovation (2013) open to any district; the Local
    # Laboratories of Learning assessment pilot; Family Resource and Youth Services Centers;
    # transition readiness in accountability.
    Persona(
        "KY",
        {
            "vision-statewide": "adopted",
            "vision-local": "many",
            "leadership": "named-body",
            "educator-supports": "pilot-training",
            "competencies": "not-started",
            "whole-child": "data-targeted",
            "pathways": "incentives",
            "innovation-flexibility": "any-district",
            "innovation-spread": "evaluated",
            "funding": "not-started",
            "school-improvement": "allowed",
            "assessment": "pilot",
            "assessment-literacy": "some-districts",
            "measurement": "readiness",
        },
        priority="quality-framework-for-student-success",
    ),
    # Utah: Portrait of a Graduate adopted by the state board (2019); competency-based education
    # grants (SB 143, 2016) funded as a budget line and open to any district that applies, with
    # an external evaluation; the board's published personalized, competency-based framework.
    Persona(
        "UT",
        {
            "vision-statewide": "adopted",
            "vision-local": "few",
            "leadership": "convened",
            "educator-supports": "pilot-training",
            "competencies": "state-published",
            "whole-child": "not-started",
            "pathways": "incentives",
            "innovation-flexibility": "any-district",
            "innovation-spread": "evaluated",
            "funding": "pilot-line",
            "school-improvement": "not-sure",
            "assessment": "interim",
            "assessment-literacy": "not-sure",
            "measurement": "not-sure",
        },
        priority="balanced-assessments",
    ),
    # South Carolina: Profile of the South Carolina Graduate (2013) adopted by the board and
    # promoted by TransformSC's coalition, used by districts as their own; an office of
    # personalized learning in the department; report cards rating college and career readiness.
    Persona(
        "SC",
        {
            "vision-statewide": "promoted",
            "vision-local": "many",
            "leadership": "named-body",
            "educator-supports": "pilot-training",
            "competencies": "pilot",
            "whole-child": "survey",
            "pathways": "incentives",
            "innovation-flexibility": "limited",
            "innovation-spread": "none",
            "funding": "not-started",
            "school-improvement": "not-started",
            "assessment": "not-started",
            "assessment-literacy": "not-started",
            "measurement": "readiness",
        },
        priority="balanced-assessments",
    ),
    # North Dakota: SB 2186 (2017) innovative education waivers any district may apply for; the
    # state's personalized, competency-based learning initiative and Superintendent's Student
    # Cabinet; Choice Ready, a graduation-readiness indicator in accountability.
    Persona(
        "ND",
        {
            "vision-statewide": "adopted",
            "vision-local": "few",
            "leadership": "named-body",
            "educator-supports": "pilot-training",
            "competencies": "pilot",
            "whole-child": "not-started",
            "pathways": "diploma-credit",
            "innovation-flexibility": "any-district",
            "innovation-spread": "evaluated",
            "funding": "not-started",
            "school-improvement": "not-started",
            "assessment": "not-started",
            "assessment-literacy": "not-started",
            "measurement": "goals",
        },
        priority="balanced-assessments",
    ),
    # Idaho: HB 110 (2015) mastery-based education, incubator districts in the Idaho Mastery
    # Education Network, a recurring budget line for the pilot since FY2018; Advanced
    # Opportunities pays for college-credit courses for every high-school student.
    Persona(
        "ID",
        {
            "vision-statewide": "not-started",
            "vision-local": "few",
            "leadership": "backed",
            "educator-supports": "pilot-training",
            "competencies": "pilot",
            "whole-child": "not-started",
            "pathways": "guaranteed",
            "innovation-flexibility": "limited",
            "innovation-spread": "network",
            "funding": "pilot-line",
            "school-improvement": "not-started",
            "assessment": "interim",
            "assessment-literacy": "not-started",
            "measurement": "not-started",
        },
        priority="vision-for-student-success",
    ),
    # Pennsylvania: the Future Ready PA Index (2018), a public dashboard with on-track and
    # readiness measures by student group; PAsmart grants for career pathways; no statewide
    # profile of a graduate and no seat-time flexibility route.
    Persona(
        "PA",
        {
            "vision-statewide": "not-started",
            "vision-local": "few",
            "leadership": "not-started",
            "educator-supports": "not-started",
            "competencies": "not-started",
            "whole-child": "data-targeted",
            "pathways": "incentives",
            "innovation-flexibility": "none",
            "innovation-spread": "none",
            "funding": "not-started",
            "school-improvement": "not-started",
            "assessment": "interim",
            "assessment-literacy": "not-started",
            "measurement": "readiness",
        },
        priority="responsive-funding-systems",
    ),
    # Rhode Island: an ESSA plan built on personalized learning and school flexibility; a
    # Portrait of a Graduate with many local portraits; proficiency-based graduation rules;
    # PrepareRI career pathways and free dual enrolment counted toward the diploma.
    Persona(
        "RI",
        {
            "vision-statewide": "adopted",
            "vision-local": "many",
            "leadership": "named-body",
            "educator-supports": "pilot-training",
            "competencies": "quarter",
            "whole-child": "survey",
            "pathways": "diploma-credit",
            "innovation-flexibility": "limited",
            "innovation-spread": "evaluated",
            "funding": "not-started",
            "school-improvement": "allowed",
            "assessment": "not-started",
            "assessment-literacy": "not-sure",
            "measurement": "readiness",
        },
        priority="balanced-assessments",
    ),
    # Mississippi: accountability and assessment as ESSA requires; Districts of Innovation (2013)
    # for a limited number of districts; career and technical education with state dual-credit
    # support; little state policy on personalized learning.
    Persona(
        "MS",
        {
            "vision-statewide": "not-sure",
            "vision-local": "few",
            "leadership": "not-started",
            "educator-supports": "not-started",
            "competencies": "not-started",
            "whole-child": "not-started",
            "pathways": "incentives",
            "innovation-flexibility": "limited",
            "innovation-spread": "none",
            "funding": "not-started",
            "school-improvement": "not-started",
            "assessment": "not-started",
            "assessment-literacy": "not-started",
            "measurement": "not-started",
        },
        priority="responsive-funding-systems",
    ),
    # Texas: Districts of Innovation (HB 1842, 2015) that any district may adopt; graduation
    # endorsements (HB 5, 2013); the through-year assessment pilot (HB 3906, 2019); A-F ratings
    # with a college, career and military readiness measure and long-term goals.
    Persona(
        "TX",
        {
            "vision-statewide": "not-started",
            "vision-local": "few",
            "leadership": "not-started",
            "educator-supports": "not-started",
            "competencies": "not-started",
            "whole-child": "not-started",
            "pathways": "diploma-credit",
            "innovation-flexibility": "any-district",
            "innovation-spread": "none",
            "funding": "not-started",
            "school-improvement": "not-started",
            "assessment": "pilot",
            "assessment-literacy": "not-started",
            "measurement": "goals",
        },
        priority="comprehensive-supports-for-educators-and-leaders",
    ),
    # Colorado: the board's postsecondary and workforce readiness description and many local
    # portraits of a graduate; the Innovation Schools Act (2008) open to any school; graduation
    # guidelines with a menu including capstones and industry certificates.
    Persona(
        "CO",
        {
            "vision-statewide": "adopted",
            "vision-local": "many",
            "leadership": "backed",
            "educator-supports": "not-started",
            "competencies": "not-started",
            "whole-child": "shared-goals",
            "pathways": "diploma-credit",
            "innovation-flexibility": "any-district",
            "innovation-spread": "none",
            "funding": "not-started",
            "school-improvement": "allowed",
            "assessment": "not-started",
            "assessment-literacy": "not-started",
            "measurement": "redesign",
        },
        priority="measuring-success",
    ),
]
