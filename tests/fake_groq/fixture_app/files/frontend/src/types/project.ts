export interface Project {
  id: number;
  name: string;
  color: string;
}
