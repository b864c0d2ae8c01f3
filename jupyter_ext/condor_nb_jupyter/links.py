"""Which HTCondor-side object stands behind a jupyter-scheduler row.

A table of our own in jupyter-scheduler's database: a job row -> a condor_nb job id
(or, for a run of a schedule, the schedule id and run id); a job definition row ->
a condor_nb schedule id. And the staging folders this backend made: the only
folders it ever deletes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, String, create_engine
from sqlalchemy.orm import declarative_base, sessionmaker

Base: Any = declarative_base()


class JobLink(Base):  # type: ignore[misc]
    __tablename__ = "condor_nb_job_links"
    job_id = Column(String(36), primary_key=True)
    condor_nb_id = Column(String(64), nullable=True, index=True)
    schedule_id = Column(String(64), nullable=True, index=True)
    run_id = Column(String(32), nullable=True)


class DefinitionLink(Base):  # type: ignore[misc]
    __tablename__ = "condor_nb_definition_links"
    job_definition_id = Column(String(36), primary_key=True)
    schedule_id = Column(String(64), nullable=False, index=True)


class CreatedFolder(Base):  # type: ignore[misc]
    """A staging folder this backend made (so it may delete it, and nothing else)."""

    __tablename__ = "condor_nb_created_folders"
    path = Column(String(4096), primary_key=True)


class Links:
    def __init__(self, db_url: str) -> None:
        engine = create_engine(db_url)
        Base.metadata.create_all(engine)
        self._session = sessionmaker(bind=engine)

    def add_job(
        self,
        job_id: str,
        *,
        condor_nb_id: str | None = None,
        schedule_id: str | None = None,
        run_id: str | None = None,
    ) -> None:
        with self._session() as s:
            s.merge(
                JobLink(
                    job_id=job_id, condor_nb_id=condor_nb_id, schedule_id=schedule_id, run_id=run_id
                )
            )
            s.commit()

    def job(self, job_id: str) -> JobLink | None:
        with self._session() as s:
            return s.get(JobLink, job_id)

    def jobs(self, job_ids: list[str]) -> dict[str, JobLink]:
        if not job_ids:
            return {}
        with self._session() as s:
            rows = s.query(JobLink).filter(JobLink.job_id.in_(job_ids)).all()
            return {r.job_id: r for r in rows}

    def condor_nb_ids(self) -> set[str]:
        """The condor_nb jobs some row already shows."""
        with self._session() as s:
            rows: list[Any] = s.query(JobLink.condor_nb_id).all()
            return {r[0] for r in rows if r[0]}

    def runs_of(self, schedule_id: str) -> set[str]:
        with self._session() as s:
            rows: list[Any] = (
                s.query(JobLink.run_id).filter(JobLink.schedule_id == schedule_id).all()
            )
            return {r[0] for r in rows if r[0]}

    def drop_job(self, job_id: str) -> None:
        with self._session() as s:
            s.query(JobLink).filter(JobLink.job_id == job_id).delete()
            s.commit()

    def add_definition(self, job_definition_id: str, schedule_id: str) -> None:
        with self._session() as s:
            s.merge(DefinitionLink(job_definition_id=job_definition_id, schedule_id=schedule_id))
            s.commit()

    def schedule_of(self, job_definition_id: str) -> str | None:
        with self._session() as s:
            row = s.get(DefinitionLink, job_definition_id)
            return str(row.schedule_id) if row is not None else None

    def definitions(self) -> dict[str, str]:
        with self._session() as s:
            rows: list[Any] = s.query(DefinitionLink).all()
            return {str(r.job_definition_id): str(r.schedule_id) for r in rows}

    def drop_definition(self, job_definition_id: str) -> None:
        with self._session() as s:
            s.query(DefinitionLink).filter(
                DefinitionLink.job_definition_id == job_definition_id
            ).delete()
            s.commit()

    def add_folder(self, path: str) -> None:
        with self._session() as s:
            s.merge(CreatedFolder(path=path))
            s.commit()

    def made_folder(self, path: str) -> bool:
        with self._session() as s:
            return s.get(CreatedFolder, path) is not None

    def drop_folder(self, path: str) -> None:
        with self._session() as s:
            s.query(CreatedFolder).filter(CreatedFolder.path == path).delete()
            s.commit()
